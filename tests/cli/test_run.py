"""``run`` on API, UI and PNG files: values, batches with seeds, JSON lines, validation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from comfy_api_client.sync import create_client
from tests.cli.conftest import Cli, noise_ui, write


def _api(color: int) -> dict[str, object]:
    return {
        "1": {"class_type": "EmptyImage", "_meta": {"title": "Canvas"},
              "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "cli"}},
    }  # fmt: skip


def test_run_an_api_file_with_set_saves_the_image(
    cli: Cli, tmp_path: Path, fresh_colors: Callable[[], int]
) -> None:
    path = write(tmp_path / "api.json", _api(fresh_colors()))
    # "Canvas.color=255" is parsed by the parameter's type: an INT, so pure blue.
    done = cli("run", str(path), "--set", "Canvas.color=255", "--out", "out")
    assert done.returncode == 0, done.stderr
    (saved,) = (tmp_path / "out").glob("*.png")
    assert Image.open(saved).convert("RGB").getpixel((0, 0)) == (0, 0, 255)
    assert saved.name in done.stdout and "8x8" in done.stdout  # the summary table


def test_run_a_ui_file_in_a_batch_with_seeds_the_server_received(
    cli: Cli, tmp_path: Path, fresh_color: int, comfy_url: str
) -> None:
    path = write(tmp_path / "noise.json", noise_ui(fresh_color, seed=500))
    done = cli("run", str(path), "--count", "3", "--seed", "increment", "--json")
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]  # nothing else on stdout
    queued = [e["prompt_id"] for e in events if e["event"] == "queued"]
    assert len(queued) == 3
    assert {e["prompt_id"] for e in events if e["event"] == "done"} == set(queued)
    assert len([e for e in events if e["event"] == "saved"]) == 3
    assert any(e["event"] == "node" and e["title"] == "Noise" for e in events)
    with create_client(comfy_url, start_state_tracker=None) as client:
        seeds = [client.get_history(p)[p]["prompt"][2]["2"]["inputs"]["seed"] for p in queued]
    assert seeds == [500, 501, 502]


def test_run_a_png_the_server_saved(
    cli: Cli, tmp_path: Path, fresh_colors: Callable[[], int]
) -> None:
    first = write(tmp_path / "noise.json", noise_ui(fresh_colors(), seed=7, mode="fixed"))
    assert cli("run", str(first), "--out", "a").returncode == 0
    (png,) = (tmp_path / "a").glob("*.png")  # carries its prompt and UI workflow
    done = cli("run", str(png), "--set", f"Canvas.color={fresh_colors()}", "--out", "b")
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "b").glob("*.png"))) == 1


def test_a_workflow_that_does_not_validate_exits_2_naming_node_and_input(
    cli: Cli, tmp_path: Path
) -> None:
    bad = _api(1)
    bad["1"]["inputs"]["width"] = 99999  # type: ignore[index]
    path = write(tmp_path / "bad.json", bad)
    done = cli("run", str(path))
    assert done.returncode == 2
    assert "node 1" in done.stderr and "Canvas" in done.stderr and "width" in done.stderr
    assert "value_bigger_than_max" in done.stderr and "Traceback" not in done.stderr
    assert cli("validate", str(path)).returncode == 2


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "api.json", _api(1))
    assert cli("run", str(path), "--seed", "sideways").returncode == 2
    done = cli("run", str(path), "--set", "Nowhere.color=1")
    assert done.returncode == 2 and "Nowhere" in done.stderr
    assert cli("run", str(tmp_path / "missing.json")).returncode == 2


def test_the_main_job_starts_its_own_server(cli: Cli, tmp_path: Path, comfy_server: object) -> None:
    # README's main job: no --url, no COMFYUI_URL, no managed server (comfy_server makes sure
    # the install is provisioned already, so this boots one in seconds).
    example = Path(__file__).resolve().parents[2] / "examples" / "workflow.json"
    done = cli("run", str(example), env={"COMFYUI_URL": ""}, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "starting a local ComfyUI" in done.stderr
    (saved,) = (tmp_path / "out").glob("*.png")
    assert Image.open(saved).size == (256, 256)


def test_run_a_template_with_its_parameters(
    cli: Cli, tmp_path: Path, fresh_color: int, comfy_url: str
) -> None:
    write(tmp_path / "noise.json", noise_ui(fresh_color, seed=1, mode="fixed"))
    manifest = {"format": "comfy-template", "version": 1, "workflow": "noise.json",
                "parameters": {"seed": "Noise.seed", "color": "Canvas.color"}}  # fmt: skip
    path = write(tmp_path / "noise.template.json", manifest)
    done = cli("run", str(path), "--set", "seed=77", "--set", f"color={fresh_color ^ 1}",
               "--set", "Canvas.width=12", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (prompt_id,) = [json.loads(x)["prompt_id"] for x in done.stdout.splitlines()
                    if json.loads(x)["event"] == "queued"]  # fmt: skip
    with create_client(comfy_url, start_state_tracker=None) as client:
        sent = client.get_history(prompt_id)[prompt_id]["prompt"][2]
    assert sent["2"]["inputs"]["seed"] == 77
    assert sent["1"]["inputs"]["color"] == fresh_color ^ 1 and sent["1"]["inputs"]["width"] == 12
    bad = cli("run", str(path), "--set", "seed=many")
    assert bad.returncode == 2 and "INT" in bad.stderr


def test_a_prompt_that_fails_on_the_server_exits_1(cli: Cli, tmp_path: Path) -> None:
    from tests.workflows import execution_error

    path = write(tmp_path / "fails.json", execution_error())
    done = cli("run", str(path), "--no-validate")
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "failed" in done.stdout and "ImageScaleBy" in done.stdout
