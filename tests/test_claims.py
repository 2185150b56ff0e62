"""Claims: what a stated figure admits, each verdict, malformed files, and the registered claims.

The stated values of the registered claims are the sources' own; the tests below check that each
claim's words are found in its source, and that every verdict is the one the claim expects.
"""

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from archscope.claims import load as claims_load
from archscope.claims.check import judge
from archscope.claims.load import ClaimFileError, load_all, load_file
from archscope.claims.stated import parse_shape, value_interval
from archscope.cli import main

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
HEADER = '[source]\nname = "t"\ntitle = "a test source"\ncite = "tests"\n'


def claim_text(**fields) -> str:
    base = {"id": "t-1", "model": "googlenet", "where": "here", "words": "the words", "quantity": "params",
            "stated": "13,385,816", "expected": "reproduced"}
    base.update(fields)
    lines = ["[[claim]]"]
    for key, value in base.items():
        if value is None:
            continue
        lines.append(f"{key} = {json.dumps(value, ensure_ascii=False) if not isinstance(value, str) or not value.startswith('{') else value}")
    return "\n".join(lines) + "\n"


def write_claims(directory: Path, *claims: str, name: str = "t.toml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(HEADER + "\n" + "\n".join(claims), encoding="utf-8")
    return path


# -- what a stated value stands for --------------------------------------------------------------

def test_a_rounded_figure_stands_for_the_interval_of_its_last_digit():
    interval = value_interval("31.82 G")
    assert Fraction(31_815_000_000) in interval
    assert Fraction(31_824_999_999) in interval
    assert 31_825_000_000 not in interval
    assert 31_814_999_999 not in interval
    assert 31_820_881_920 in interval  # 003's googlenet, by torchinfo's count


def test_units_of_a_2014_paper_and_of_chinese_text():
    assert value_interval("159K", units="binary").describe() == f"[{158.5 * 1024:,.0f}, {159.5 * 1024:,.0f})"
    assert 159 * 1000 not in value_interval("159K", units="binary")
    assert 159 * 1000 in value_interval("159K")
    assert 1_550_000_000 - 1 in value_interval("1.5 billion")
    assert 1_550_000_000 not in value_interval("1.5 billion")
    assert 5_000_000 in value_interval("500万")
    assert 150_000_000 in value_interval("1.5亿")
    assert 53_543_264 in value_interval("53.54 MB")


def test_exact_counts_fractions_percentages_tolerance_and_bounds():
    assert 13_385_816 in value_interval("13,385,816")
    assert 13_385_817 not in value_interval("13,385,816")
    assert Fraction(1, 9) in value_interval("1/9")
    assert 0.28 in value_interval("28%") and 0.2849 in value_interval("28%")  # a rounded figure
    assert 0.285 not in value_interval("28%") and 0.2749 not in value_interval("28%")
    assert 0.118 not in value_interval("1/9")
    assert 0.118 in value_interval("1/9", tolerance=0.1)  # 1/9 ± 10 % is [0.1, 0.1222]
    assert 24_999_999 in value_interval("25 million", relation="below")
    assert 25_000_000 not in value_interval("25 million", relation="below")
    assert 0.4 in value_interval(0.4)
    with pytest.raises(ValueError, match="not a number"):
        value_interval("about a lot")


def test_shapes_as_sources_write_them():
    assert parse_shape("64×56×56") == (64, 56, 56)
    assert parse_shape("1x28x28") == (1, 28, 28)
    assert parse_shape([20, 1000]) == (20, 1000)
    assert parse_shape("[20, 64, 28, 28]") == (20, 64, 28, 28)
    with pytest.raises(ValueError):
        parse_shape("64×a")


# -- verdicts ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def googlenet_at_20():
    from archscope.api import analyze

    return analyze("googlenet", [[20, 3, 224, 224]])


def verdict_of(tmp_path, analysis, **fields):
    (claim,) = load_file(write_claims(tmp_path, claim_text(**fields)), {"googlenet": ("aux_logits",)})
    return judge(claim, analysis, ((20, 3, 224, 224),))


def test_each_verdict_kind(tmp_path, googlenet_at_20):
    # 5x5 branch of inception3a by hand: 1x1 192->16 and 5x5 16->32 without bias, each with BatchNorm
    branch3 = 192 * 16 + 2 * 16 + 16 * 32 * 25 + 2 * 32
    reproduced = verdict_of(tmp_path, googlenet_at_20, quantity="params", layer="inception3a.branch3",
                            stated=f"{branch3:,}")
    assert (reproduced.verdict, reproduced.computed, reproduced.explanation) == ("reproduced", branch3, "")

    contradicted = verdict_of(tmp_path, googlenet_at_20, quantity="attribute", layer="conv3.layers.0",
                              name="stride", stated=2, expected="contradicted",
                              explanation="stride 2 would halve 56 before the pool")
    assert (contradicted.verdict, contradicted.computed) == ("contradicted", [1, 1])
    assert contradicted.as_expected and contradicted.explanation == "stride 2 would halve 56 before the pool"

    unknowable = verdict_of(tmp_path, googlenet_at_20, quantity="training", stated="0.3", expected="not checkable")
    assert (unknowable.verdict, unknowable.computed) == ("not checkable", None)
    assert "not part of the model's definition" in unknowable.explanation  # archscope's reason, none given
    own = verdict_of(tmp_path, googlenet_at_20, quantity="accuracy", stated="6.67%", expected="not checkable",
                     explanation="top-5 error of an ensemble")
    assert (own.verdict, own.explanation) == ("not checkable", "top-5 error of an ensemble")


def test_a_verdict_that_differs_from_its_expectation_says_so(tmp_path, googlenet_at_20):
    drifted = verdict_of(tmp_path, googlenet_at_20, quantity="mult_adds", stated="31.83 G")
    assert drifted.verdict == "contradicted" and not drifted.as_expected
    assert "expected reproduced" in drifted.explanation and "[31,825,000,000, 31,835,000,000)" in drifted.explanation
    stale = verdict_of(tmp_path, googlenet_at_20, quantity="window", layer="avgpool", stated="7x7",
                       expected="contradicted", explanation="thought to be 7x1")
    assert stale.verdict == "reproduced" and not stale.as_expected


def test_shapes_rows_and_layouts(tmp_path, googlenet_at_20):
    def holds(**fields):
        return verdict_of(tmp_path, googlenet_at_20, **fields).verdict == "reproduced"

    assert holds(quantity="output_shape", layer="inception3b", stated="480×28×28")  # per sample
    assert holds(quantity="output_shape", layer="inception3b", stated="28x28x480", layout="HWC")
    assert not holds(quantity="output_shape", layer="inception3b", stated="480x28x28", layout="HWC")
    assert holds(quantity="output_shape", layer="fc", stated="1000×1×1", layout="map")
    assert not holds(quantity="output_shape", layer="fc", stated="1000×1×1")
    assert holds(quantity="output_shape", output=2, stated=[20, 1000])
    # torchinfo's row of the 3x3 reduction of inception3a at depth 3: conv 192*96 + BN 2*96 below it
    row = '{ shape = [20, 96, 28, 28], params = "%s" }' % f"{192 * 96 + 2 * 96:,}"
    assert holds(quantity="row", layer="inception3a.branch2.0", stated=row)
    assert holds(quantity="row", layer="inception3a", stated='{ shape = [20, 256, 28, 28], params = "--" }')
    assert holds(quantity="window", layer="avgpool", stated="7x7")  # adaptive: 7×7 map to 1×1
    assert holds(quantity="count", type="Linear", stated=5)  # fc and two per auxiliary head
    assert holds(quantity="attribute", layer="dropout", name="p", stated="40%")
    assert holds(quantity="attribute", layer="fc", name="in_features", stated="1,024")  # a figure, not 1×24
    assert holds(quantity="attribute", layer="conv1.layers.0", name="stride", stated="2")
    assert not holds(quantity="attribute", layer="conv1.layers.0", name="kernel_size", stated="7x1")
    assert holds(quantity="count", type="Inception", stated=9)  # containers count too


def test_savings_quantities_by_hand(tmp_path, googlenet_at_20):
    # inception3a: 1x1 reductions 192->96 (3x3 to 128) and 192->16 (5x5 to 32) against direct k×k
    actual = 192 * 96 + 96 * 128 * 9 + 192 * 16 + 16 * 32 * 25
    direct = 192 * 128 * 9 + 192 * 32 * 25
    for quantity, value in (("bottleneck.weights", f"{actual:,}"), ("bottleneck.direct_weights", f"{direct:,}"),
                            ("bottleneck.weights_ratio", f"{actual}/{direct}")):
        found = verdict_of(tmp_path, googlenet_at_20, quantity=quantity, layer="inception3a", stated=value)
        assert found.verdict == "reproduced", (quantity, found.computed)


# -- malformed files: file and line, no traceback ------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"quantity": "speeed"}, "unknown quantity 'speeed'"),
    ({"model": "googlenet-v9"}, "model 'googlenet-v9' is not in the zoo"),
    ({"stated": "lots"}, "not a number"),
    ({"expected": "maybe"}, "expected must be one of"),
    ({"expected": "contradicted"}, "'explanation' must be a non-empty string"),
    ({"expected": "not checkable"}, "only a claim about training, accuracy, speed"),
    ({"quantity": "speed"}, "only a claim about training, accuracy, speed"),
    ({"words": None}, "'words' must be a non-empty string"),
    ({"quantity": "output_shape"}, "needs 'layer or output'"),
    ({"quantity": "attribute", "layer": "conv1"}, "needs 'name'"),
    ({"layer_": "conv1"}, "unknown field layer_"),
    ({"options": "{ aux_logits = false, depth = 3 }"}, "googlenet has no option depth"),
    ({"tolerance": 2}, "'tolerance' must be a fraction between 0 and 1"),
    ({"tolerance": 0.1, "relation": "below"}, "a bound ('relation') takes none"),
    ({"units": ["si"]}, "'units' must be 'si' or 'binary'"),
    ({"input": 224}, "'input' must be a shape"),
    ({"input": [1, 3, 224.5, 224]}, "'input' must be a shape"),
    ({"quantity": "output_shape", "layer": "fc", "call": "1"}, "'call' must be a call index"),
    ({"quantity": "output_shape", "output": True}, "'output' must be an output index"),
    ({"quantity": "row", "layer": "fc", "depth": "3"}, "'depth' must be a table depth"),
    ({"quantity": "attribute", "layer": "fc", "name": ["p"]}, "'name' must be an attribute name"),
    ({"quantity": "count", "type": 5}, "'type' must be a class name or a list of them"),
    ({"quantity": "output_shape", "layer": 5}, "'layer' must be a module path"),
    ({"quantity": "output_shape", "layer": "fc", "stated": [1.5, 2]}, "not an integer"),
    ({"options": "{ aux_logits = [1] }"}, "an option's value must be"),
    ({"quantity": "output_shape", "layer": "fc", "stated": "a×b"}, "not an integer"),
])
def test_a_malformed_claim_is_reported_with_its_file_and_line(tmp_path, fields, message):
    good = claim_text(id="t-0")
    path = write_claims(tmp_path, good, claim_text(**fields))
    line = path.read_text().splitlines().index("[[claim]]", 6) + 1  # the second claim's header
    with pytest.raises(ClaimFileError, match=re.escape(message)) as raised:
        load_all(tmp_path)
    assert str(raised.value).startswith(f"t.toml:{line} (t-1)") or str(raised.value).startswith(f"t.toml:{line}:")


def test_broken_toml_duplicate_ids_and_missing_source(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.toml").write_text(HEADER + '[[claim]]\nid = "t-1\n', encoding="utf-8")
    with pytest.raises(ClaimFileError, match=r"x\.toml: not valid TOML: .*line 6"):
        load_all(tmp_path / "a")
    write_claims(tmp_path / "b", claim_text(), name="one.toml")
    write_claims(tmp_path / "b", claim_text(), name="two.toml")
    with pytest.raises(ClaimFileError, match=r"two\.toml:\d+: claim id 't-1' is already used at one\.toml:\d+"):
        load_all(tmp_path / "b")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "latin.toml").write_bytes(HEADER.encode() + b'# caf\xe9\n')
    with pytest.raises(ClaimFileError, match=r"latin\.toml: not UTF-8 text"):
        load_all(tmp_path / "d")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "y.toml").write_text(claim_text(), encoding="utf-8")
    with pytest.raises(ClaimFileError, match=r"y\.toml:1: a \[source\] table"):
        load_all(tmp_path / "c")


def test_check_command_exit_status_and_one_line_errors(tmp_path, monkeypatch, capsys):
    directory = tmp_path / "claims"
    write_claims(directory, claim_text(), claim_text(id="t-2", quantity="mult_adds", stated="31.82 G"))
    monkeypatch.setattr(claims_load, "DIRECTORY", directory)
    assert main(["check", "googlenet"]) == 0
    assert "2 claims: 2 reproduced; all as expected" in capsys.readouterr().out

    write_claims(directory, claim_text(), claim_text(id="t-2", quantity="params", stated="13,385,815"))
    claims_load._load_directory.cache_clear()  # the files of one directory are read once per process
    assert main(["check", "googlenet", "--format", "json"]) == 1  # a definition that drifted fails CI
    records = json.loads(capsys.readouterr().out)["claims"]
    assert {"id", "model", "source", "quantity", "stated", "computed", "verdict", "expected",
            "explanation"} <= set(records[1])
    assert (records[1]["verdict"], records[1]["expected"], records[1]["computed"]) == (
        "contradicted", "reproduced", 13_385_816)

    write_claims(directory, claim_text(), claim_text(id="t-2", quantity="output_shape", layer="inception9z",
                                                     stated="1×1"))
    claims_load._load_directory.cache_clear()
    assert main(["check", "googlenet"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "t.toml:" in error and "no layer 'inception9z'" in error
    write_claims(directory, claim_text(input=[1, 3, 64, 64], model="googlenet-paper", stated="1"))
    claims_load._load_directory.cache_clear()  # googlenet-paper's fixed 7×7 pool cannot take 64×64
    assert main(["check", "googlenet-paper"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "t.toml:" in error and "(t-1): googlenet-paper: forward failed" in error
    assert main(["check"]) == 2 and "give one or more MODELs or --all" in capsys.readouterr().err
    assert main(["check", "googlenet-v9"]) == 2 and "unknown model 'googlenet-v9'" in capsys.readouterr().err


# -- the registered claims -----------------------------------------------------------------------

REGISTERED = load_all()


def test_every_registered_claim_gets_its_expected_verdict():
    from archscope.api import check

    verdicts = check()
    off = [(verdict.claim.id, verdict.verdict, verdict.explanation) for verdict in verdicts if not verdict.as_expected]
    assert not off
    kinds = {verdict.verdict for verdict in verdicts}
    assert kinds == {"reproduced", "contradicted", "not checkable"}


def _plain(text: str) -> str:
    """Text without torchinfo's tree characters and with single spaces, for finding words in a seed."""
    return " ".join(re.sub(r"[│├└─]", " ", text).split())


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed articles are not beside this checkout")
@pytest.mark.parametrize("claim", [claim for claim in REGISTERED if claim.source.cite.endswith(".txt")],
                         ids=lambda claim: claim.id)
def test_the_words_of_an_article_claim_are_in_the_article(claim):
    """Quoted as the article prints them; "..." marks words left out between two quoted pieces."""
    article = _plain((SEEDS / claim.source.cite).read_text(encoding="utf-8"))
    position = 0
    for piece in filter(None, (_plain(part) for part in claim.words.split("..."))):
        position = article.find(piece, position)
        assert position >= 0, piece
        position += len(piece)


def test_the_claims_the_issue_names_are_registered():
    ids = {claim.id for claim in REGISTERED}
    by_source = {}
    for claim in REGISTERED:
        by_source.setdefault(claim.source.name, []).append(claim)
    # 003: three outputs, 8 totals and memory lines, and every table row the article printed
    rows = [claim for claim in by_source["003"] if claim.quantity == "row"]
    assert len(rows) == 1 + 21 + 3 * 4 + 9 * 11 + 2 * 8 - 7
    assert {"003-total-params", "003-total-mult-adds", "003-total-size", "003-output-2-aux2"} <= ids
    contradicted_000 = {claim.quantity for claim in by_source["000"] if claim.expected == "contradicted"}
    assert {"attribute", "window", "count"} <= contradicted_000
    for name in ("001", "002", "004", "paper-googlenet", "paper-inception-v3", "published"):
        assert by_source.get(name), f"no claims from {name}"
    assert any(claim.quantity == "training" for claim in by_source["002"])


def test_a_report_lists_its_claims_gaps_first():
    """The committed report of googlenet-lrn (kept fresh by test_reports_fresh): its Claims section
    starts with the contradicted claims of the 000 article, each with its explanation."""
    report = (Path(__file__).resolve().parent.parent / "reports" / "googlenet-lrn" / "index.md").read_text()
    section = report.split("## Claims", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ✓") or line.startswith("| ✗")
            or line.startswith("| –")]
    badges = [row.split(" | ")[0] for row in rows]
    assert badges[0] == "| ✗ contradicted" and "| ✗ contradicted" not in badges[badges.index("| ✓ reproduced"):]
    stride = next(row for row in rows if "000-c2-stride" in row)
    assert "stride=2" in stride and "14×14" in stride  # the article's words and why the shapes refute them
    assert len(rows) == sum(claim.model == "googlenet-lrn" for claim in REGISTERED)
