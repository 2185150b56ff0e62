"""What articles, papers and documentation state about the zoo's models (``*.toml``, format in
README.md), and the verdict on each (``check``). Loading the claims imports no torch."""
