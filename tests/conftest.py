import pytest

import archscope


@pytest.fixture(scope="session")
def googlenet_at_20():
    """The 003 article's model and input: GoogLeNet at (20, 3, 224, 224), traced once on meta."""
    return archscope.analyze("googlenet", (20, 3, 224, 224))
