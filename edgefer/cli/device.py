"""Device commands: ``run``, ``bench``, ``models`` and ``devices`` (never TensorFlow)."""

import contextlib
import json
import os
from dataclasses import replace

import click

from edgefer.cli.app import FiniteRange, friendly_errors, main
from edgefer.core.errors import EdgeferError
from edgefer.device.drift import DEFAULT_EVERY, DEFAULT_MIN_FACES
from edgefer.device.faces import DETECTORS

MODEL = click.option("--model", "model_path", default=None,
                     help="A bundled model's name (see `edgefer models`) or a .tflite file [the profile's, or fer2013-lite0].")
DEVICE = click.option("--device", default="auto", show_default=True,
                       help="Device profile (see `edgefer devices`), or 'auto': the one that fits this machine "
                            "(`edgefer devices --detect` says which and why; none found: the defaults).")
DETECTOR = click.option("--detector", default=None, type=click.Choice(DETECTORS),
                        help="Face detector [profile's, or blazeface: both BlazeFace models, near and far].")
THREADS = click.option("--threads", default=None, type=click.IntRange(min=1, max=256),
                       help="Interpreter threads [profile or runtime default].")


def echo_listing(items, as_json, describe):
    """Print ``items`` as indented JSON, or one ``describe(item)`` each."""
    if as_json:
        click.echo(json.dumps(items, indent=2))
        return
    for item in items:
        click.echo(describe(item))


@main.command()
@click.option("--camera", default=None, help="Camera index (0, 1, ...) or 'picamera2' [the device profile's: the Pi "
                                             "camera module on a Pi where picamera2 is installed, else 0].")
@click.option("--source", default=None,
              help="Image or video file, folder, glob, or 'sample' (the default where neither --camera nor the "
                   "device profile names a camera).")
@MODEL
@DEVICE
@THREADS
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per frame.")
@click.option("--output", default=None, type=click.Path(), help="Write the annotated image or video here.")
@click.option("--display/--no-display", default=None, help="Show a window [on when a display is available].")
@click.option("--max-frames", default=0, type=click.IntRange(min=0), help="Stop after N frames (0: until the source ends).")
@click.option("--status-every", default=0.0, type=FiniteRange(0, 86400), metavar="SECONDS",
              help="A status line on stderr every SECONDS (frames, faces, emotions, rates): a service's journal "
                   "instead of a line a frame [0: none].")
@click.option("--smooth", default=5, show_default=True, type=click.IntRange(min=1, max=1000),
              help="Per-face moving-average span in frames (1 = off).")
@click.option("--min-face", default=None, type=click.IntRange(min=1),
              help="Ignore faces smaller than this many pixels [16; haar: 40].")
@click.option("--margin", default=0.1, show_default=True, type=FiniteRange(0, 1),
              help="Grow each face box by this fraction per side (detectors without a fitted crop, e.g. haar).")
@DETECTOR
@click.option("--min-score", default=None, type=FiniteRange(0, 1), help="Detector score threshold [0.5].")
@click.option("--detect-tiles", default=0, type=click.IntRange(0, 8),
              help="Also detect on N x N overlapping tiles (crowds in large frames).")
@click.option("--loop", is_flag=True, help="Play a file, folder or the sample again and again until stopped.")
@click.option("--serve", "serve_address", default=None, metavar="[HOST:]PORT",
              help="Serve a live page, MJPEG stream and JSON API here (127.0.0.1 unless a host is given).")
@click.option("--token-file", default=None, type=click.Path(),
              help="File holding the token required on --serve (else EDGEFER_TOKEN; generated for non-loopback hosts).")
@click.option("--no-video", is_flag=True, help="With --serve: results only, no image leaves the device.")
@click.option("--max-clients", default=8, show_default=True, type=click.IntRange(1, 256),
              help="With --serve: concurrent streams before new ones get 503.")
@click.option("--drift", "drift_model", default=None, metavar="FLOAT_MODEL",
              help="Check int8 drift live: every --drift-every-th face also goes through this float32 model (a file, "
                   "or a bundled model's name for its twin) on the CPU; figures in the summary, status lines, "
                   "/api/latest and /metrics.")
@click.option("--drift-every", default=DEFAULT_EVERY, show_default=True, type=click.IntRange(1, 1_000_000),
              help="With --drift: compare one face in N.")
@click.option("--drift-min-agreement", default=None, type=FiniteRange(0, 1),
              help=f"With --drift: one warning (and edgefer_drift_warning 1) once {DEFAULT_MIN_FACES} faces are "
                   "compared and the agreement's 95% upper bound is under this.")
@friendly_errors
def run(camera, source, model_path, device, threads, as_json, output, display, max_frames, status_every, smooth,
        min_face, margin, detector, min_score, detect_tiles, loop, serve_address, token_file, no_video, max_clients,
        drift_model, drift_every, drift_min_agreement):
    """Find every face in view and label its emotion, live.

    Nothing is written to disk unless --output asks. Ctrl-C or SIGTERM ends with a summary.

    \b
    Examples:
      edgefer run --source sample --json --no-display --max-frames 5
      edgefer run --camera 0 --device raspberry-pi-5 --no-display --json
      edgefer run --source clip.mp4 --output annotated.mp4 --no-display
      edgefer run --device auto --serve 0.0.0.0:8765 --token-file /etc/edgefer/token --no-display --status-every 10
      edgefer run --camera 0 --drift fer2013-lite0 --drift-min-agreement 0.95 --no-display --status-every 10
    """
    from edgefer.device.assemble import assemble
    from edgefer.device.bundled import float_model
    from edgefer.device.live import RunOptions, check_output_path, run_stream
    from edgefer.device.profiles import device_settings
    from edgefer.device.serve import LiveServer, ServeOptions, announce, parse_address, resolve_token
    from edgefer.device.sources import default_camera, looping, open_source

    if output:
        check_output_path(output)
    serve_options, generated = None, False
    if serve_address:
        host, port = parse_address(serve_address)
        token, generated = resolve_token(host, token_file)
        serve_options = ServeOptions(host, port, token, video=not no_video, max_clients=max_clients)
    if (drift_every != DEFAULT_EVERY or drift_min_agreement is not None) and not drift_model:
        raise click.UsageError("--drift-every and --drift-min-agreement need --drift FLOAT_MODEL")
    settings = device_settings(device, model_path, threads, min_face, detector, min_score=min_score, tiles=detect_tiles,
                               margin=margin, smooth=smooth, drift_model=float_model(drift_model) if drift_model else None,
                               drift_every=drift_every, drift_min_agreement=drift_min_agreement)
    if camera is None and source is None:
        camera = default_camera(settings.camera)
    pipeline = assemble(settings)
    if display is None:
        display = bool(os.environ.get("DISPLAY")) and not as_json
    options = RunOptions(as_json=as_json, output=output, display=display, max_frames=max_frames,
                         status_every=status_every)
    frames = looping(lambda: open_source(camera, source)) if loop else open_source(camera, source)
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(LiveServer(serve_options)) if serve_options else None
        if server:
            announce(server, generated)
        summary = run_stream(frames, pipeline, options=options, server=server)
    summary.update({"model": os.path.basename(settings.model_path), "runtime": pipeline.classifier.runtime})
    click.echo("summary: " + json.dumps(summary), err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@friendly_errors
def models(as_json):
    """List the bundled models (int8 file in the package, float32 twin in the repository).

    \b
    Example:
      edgefer models --json
    """
    from edgefer.device.bundled import bundled_models

    echo_listing(bundled_models(), as_json, lambda m: (
        f"{m['name']}{' (default)' if m['default'] else ''}: {m['backbone']} on {m['dataset']}, "
        f"{m['size_mb']} MB, {m['image_size']} px inside"
        f"{', mean of ' + ' + '.join(m['members']) if m['members'] else ''}"
        f"{' (the others on the mirror image)' if m['mirror_members'] else ''}"
        f"{', flip-averaged' if m['flip_average'] else ''}, labels {', '.join(m['labels'])}\n"
        f"  int8: {m['path']}\n  float32: {m['float_path']}{'' if m['float_available'] else ' (not in this installation)'}"
        + (f"\n  classifier p50: {m['latency']['p50_ms']['1_thread']} ms on 1 thread, {m['latency']['p50_ms']['2_threads']} ms "
           f"on 2 ({m['latency']['machine']})" if m["latency"] else "")))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@click.option("--detect", is_flag=True, help="Say which profile fits this machine, and why.")
@friendly_errors
def devices(as_json, detect):
    """List the device profiles for --device.

    \b
    Examples:
      edgefer devices
      edgefer devices --detect
    """
    from edgefer.device.detect import detect_device
    from edgefer.device.profiles import list_profiles

    if detect:
        found = detect_device()
        if as_json:
            click.echo(json.dumps({"profile": found.profile, "reasons": list(found.reasons)}, indent=2))
        else:
            click.echo(f"{found.profile or 'no profile (the defaults)'}: " + "; ".join(found.reasons))
        return
    echo_listing(list_profiles(), as_json, lambda p: (
        f"{p['name']:<16} threads={p['threads']} delegate={p['delegate'] or 'none'} detector={p['detector']} "
        f"camera={p['camera']} model={p['model']} ({p['model_variant']})  {p['description']}"))


@main.command()
@MODEL
@DEVICE
@click.option("--runs", default=200, show_default=True, type=click.IntRange(min=1, max=1_000_000),
              help="Timed runs after 10 warm-up runs.")
@THREADS
@DETECTOR
@click.option("--all-models", is_flag=True, help="Time every bundled model, one after the other, in this run.")
@click.option("--record", "record_path", default=None, type=click.Path(),
              help="With --all-models: write each model's classifier p50 on 1 and 2 threads, with the machine, to this "
                   "JSON file (edgefer/device/models/latency.json is what `edgefer models` shows).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@friendly_errors
def bench(model_path, device, runs, threads, detector, all_models, record_path, as_json):
    """Time the classifier (p50/p95/p99), the face detector and the whole pipeline on a frame
    with one face.

    \b
    Examples:
      edgefer bench --threads 2 --json
      edgefer bench --all-models --threads 1
      edgefer bench --all-models --record edgefer/device/models/latency.json --runs 300
    """
    from edgefer.device.bench import bench as run_bench
    from edgefer.device.bundled import bundled_models
    from edgefer.device.profiles import device_settings

    if all_models and model_path:
        raise EdgeferError("give either --model or --all-models, not both")
    if record_path:
        from edgefer.core.files import check_output_file, write_json
        from edgefer.device.bench import latency_record

        if not all_models:
            raise click.UsageError("--record needs --all-models")
        check_output_file(record_path)
        record = latency_record(runs)
        write_json(record_path, record)
        click.echo(json.dumps(record, indent=2) if as_json else
                   "\n".join(f"{name}: {ms['1_thread']} ms on 1 thread, {ms['2_threads']} ms on 2"
                             for name, ms in record["models"].items()) + f"\n{record['machine']}; written to {record_path}")
        return
    settings = device_settings(device, model_path, threads, detector=detector)
    paths = [m["path"] for m in bundled_models()] if all_models else [settings.model_path]
    reports = [run_bench(replace(settings, model_path=path), runs) for path in paths]
    if as_json:
        click.echo(json.dumps(reports if all_models else reports[0], indent=2))
        return
    for report in reports:
        c, d, p = report["classifier_ms"], report["detector_ms"], report["pipeline_ms"]
        click.echo(f"{os.path.basename(report['model'])} ({report['size_mb']} MB) on {report['runtime']}, "
                   f"delegate {report['delegate']}, threads {settings.threads or 'default'}; {report['machine']}\n"
                   f"classifier: p50 {c['p50']:.2f} ms, p95 {c['p95']:.2f} ms, p99 {c['p99']:.2f} ms\n"
                   f"detector ({report['detector']}, {report['frame'][0]}x{report['frame'][1]}): "
                   f"p50 {d['p50']:.2f} ms, p95 {d['p95']:.2f} ms\n"
                   f"pipeline (1 face): p50 {p['p50']:.2f} ms, p95 {p['p95']:.2f} ms -> "
                   f"{report['faces_per_second']} faces/s")
