"""Draw docs/progress.svg: the live display of ``comfy-api-client run`` mid-run.

    python scripts/render_progress_svg.py

The display is the real one (``LiveReporter.render``), fed the calls a run
makes: three prompts, one done, one running a node with steps, one queued.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from comfy_api_client.cli.display import LiveReporter

OUT = Path(__file__).resolve().parent.parent / "docs" / "progress.svg"


def main() -> None:
    titles = {"1": "Canvas", "2": "Noise", "3": "Blur", "4": "Save"}
    report = LiveReporter(titles)
    ids = ["3f2a9c1e-run-1", "b81d07aa-run-2", "5c6e4f10-run-3"]
    for index, prompt_id in enumerate(ids):
        report.queued(index, prompt_id, nodes=4)
    for node in ("1", "2", "3", "4"):
        report.node(ids[0], node)
    report.finished(ids[0])
    report.node(ids[1], "1")
    report.node(ids[1], "2")
    report.progress(ids[1], "2", 12, 20, 0.55)
    report.preview(ids[1], 48_213, "image/png")
    console = Console(record=True, width=90, force_terminal=True, color_system="truecolor")
    console.print(report.render())
    OUT.write_text(console.export_svg(title="comfy-api-client run workflow.json --count 3"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
