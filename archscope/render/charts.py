"""Charts as SVG text, drawn by matplotlib without pyplot (no global figure state).

Every chart is deterministic: a fixed hash salt per chart (so ids are stable and differ between the
charts inlined in one page), no date or creator metadata, text kept as text. rcParams are set in a
context, never globally.
"""

from __future__ import annotations

import io

from archscope.analysis import leaf_profile

PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C",
           "#CCB974", "#64B5CD"]
STYLE = {
    "svg.fonttype": "none",  # text stays text: selectable, small, scaled by the browser
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _svg(draw, name: str, size: tuple[float, float]) -> str:
    from matplotlib import rc_context
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    with rc_context({**STYLE, "svg.hashsalt": f"archscope-{name}", "svg.id": f"chart-{name}"}):
        figure = Figure(figsize=size)  # margins set by each chart: constrained layout costs 0.5 s
        FigureCanvasSVG(figure)
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE so the SVG can be inlined


def _margins(figure, size: tuple[float, float], left: float = 0.75, bottom: float = 0.5, top: float = 0.35,
             right: float = 0.2) -> None:
    """Margins in inches, whatever the figure's size."""
    width, height = size
    figure.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)


def _label(row: dict) -> str:
    return f"{row['name'] or '(model)'} ×{row['repeat']}" if row["repeat"] > 1 else (row["name"] or "(model)")


def stage_costs(stages: list[dict], batch: int) -> str:
    """Parameters and mult-adds per stage, side by side, stages top to bottom in network order."""
    labels = [_label(row) for row in stages]
    params = [row["params"] / 1e6 for row in stages]
    mult_adds = [row["mult_adds"] / 1e9 for row in stages]
    colors = [PALETTE[3] if row["side_branch"] else PALETTE[0] for row in stages]

    def draw(figure):
        left, right = figure.subplots(1, 2, sharey=True)
        positions = list(range(len(labels)))
        left.barh(positions, params, color=colors)
        right.barh(positions, mult_adds, color=[PALETTE[3] if row["side_branch"] else PALETTE[1] for row in stages])
        left.set_yticks(positions, labels)
        left.invert_yaxis()
        left.set_xlabel("parameters (M)")
        right.set_xlabel(f"mult-adds (G) at batch {batch}")
        left.set_title("Parameters per stage", loc="left")
        right.set_title("Mult-adds per stage", loc="left")
        _margins(figure, size, left=0.25 + 0.065 * max(map(len, labels), default=4))
        figure.subplots_adjust(wspace=0.08)

    size = (8, 1.0 + 0.22 * len(labels))
    return _svg(draw, "stage-costs", size)


def activations(layers: list[dict]) -> str:
    """Output size of every leaf call, in call order: where activation memory peaks."""
    profile = leaf_profile(layers)
    sizes = [item["output_bytes"] / 1e6 for item in profile]

    def draw(figure):
        axes = figure.subplots()
        axes.fill_between(range(len(sizes)), sizes, step="mid", color=PALETTE[2], alpha=0.35)
        axes.step(range(len(sizes)), sizes, where="mid", color=PALETTE[2], linewidth=1)
        peak = max(range(len(sizes)), key=sizes.__getitem__) if sizes else 0
        if sizes:
            axes.annotate(f"{profile[peak]['path']}: {sizes[peak]:,.1f} MB", (peak, sizes[peak]),
                          xytext=(8, -4), textcoords="offset points", fontsize=8)
        axes.set_xlabel("leaf layer calls, in order")
        axes.set_ylabel("output size (MB)")
        axes.set_title("Activation size along the network", loc="left")
        _margins(figure, (8, 3))

    return _svg(draw, "activations", (8, 3))


def cumulative_mult_adds(layers: list[dict]) -> str:
    """Mult-adds run up to each leaf call: steep where the network spends its arithmetic."""
    profile = leaf_profile(layers)
    running = [item["cumulative_mult_adds"] / 1e9 for item in profile]

    def draw(figure):
        axes = figure.subplots()
        axes.plot(range(len(running)), running, color=PALETTE[1], linewidth=1.5)
        axes.set_xlabel("leaf layer calls, in order")
        axes.set_ylabel("mult-adds so far (G)")
        axes.set_title("Cumulative mult-adds", loc="left")
        axes.set_ylim(bottom=0)
        _margins(figure, (8, 3))

    return _svg(draw, "cumulative", (8, 3))


def parameter_share(groups: list[tuple[str, int]]) -> str:
    """One 100% bar split by where the parameters live (groups of stages), largest first."""
    total = sum(value for _, value in groups) or 1

    def draw(figure):
        axes = figure.subplots()
        start = 0.0
        for index, (label, value) in enumerate(groups):
            share = value / total
            axes.barh(0, share, left=start, color=PALETTE[index % len(PALETTE)], edgecolor="white",
                      label=f"{label}: {value / 1e6:,.2f} M ({share:.1%})")
            if share >= 0.06:
                axes.text(start + share / 2, 0, f"{share:.0%}", ha="center", va="center", color="white",
                          fontsize=9, fontweight="bold")
            start += share
        axes.set_xlim(0, 1)
        axes.set_yticks([])
        axes.grid(False)
        axes.spines[["left", "bottom"]].set_visible(False)
        axes.set_xticks([])
        axes.set_title("Where the parameters live", loc="left")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.05), ncols=2, frameon=False)
        _margins(figure, size, left=0.2, bottom=0.25 + legend_rows * 0.22)

    legend_rows = (len(groups) + 1) // 2
    size = (8, 1.3 + 0.22 * legend_rows)
    return _svg(draw, "parameter-share", size)


def zoo_scatter(models: list[dict]) -> str:
    """Parameters against mult-adds per image for every zoo model, log-log."""
    def draw(figure):
        axes = figure.subplots()
        for index, model in enumerate(models):
            x, y = model["params"], model["mult_adds_per_sample"]
            if not x or not y:
                continue
            axes.scatter([x], [y], color=PALETTE[index % len(PALETTE)], s=18)
            axes.annotate(model["name"], (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("parameters")
        axes.set_ylabel("mult-adds per input sample")
        axes.set_title("The zoo: size against cost", loc="left")
        _margins(figure, (8, 5.5), left=0.8)

    return _svg(draw, "zoo-scatter", (8, 5.5))


def savings_per_block(blocks: list[dict], name: str, title: str, actual_label: str) -> str:
    """Mult-adds per block: the direct (single-kernel) convolutions against what the model runs."""
    labels = [block["block"] or "(model)" for block in blocks]
    direct = [block["direct_mult_adds"] / 1e9 for block in blocks]
    actual = [block["actual_mult_adds"] / 1e9 for block in blocks]

    def draw(figure):
        axes = figure.subplots()
        positions = list(range(len(labels)))
        axes.barh([p - 0.2 for p in positions], direct, height=0.4, color=PALETTE[7], label="without")
        axes.barh([p + 0.2 for p in positions], actual, height=0.4, color=PALETTE[2], label=actual_label)
        for position, block in zip(positions, blocks):
            if block["mult_adds_ratio"] is not None:
                axes.annotate(f"{1 - block['mult_adds_ratio']:.0%} saved", (max(direct[position], actual[position]), position),
                              xytext=(4, -3), textcoords="offset points", fontsize=7)
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()
        axes.set_xlabel("mult-adds (G) at the analysed input")
        axes.set_title(title, loc="left")
        axes.legend(loc="lower right", frameon=False)
        _margins(figure, size, left=0.25 + 0.065 * max(map(len, labels), default=4), right=0.8)

    size = (8, 1.0 + 0.3 * len(labels))
    return _svg(draw, name, size)
