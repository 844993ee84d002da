"""``edgefer quantize``: a trained run to TFLite files (TensorFlow, loaded on use)."""

import click

from edgefer.cli.app import check_inputs, friendly_errors, main, quiet_tensorflow, require_tensorflow
from edgefer.convert.options import MAX_ZOOM_CROP
from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import INTEROP_TOOLS, IO_TYPES


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.option("--data", "data_path", required=True, type=click.Path(), help="The dataset the manifest's ids come from.")
@click.option("--calibration", "manifest", default=None, type=click.Path(),
              help="Calibration manifest (edgefer calibrate); required for FER2013 and FER+ runs [a run on a prepared "
                   "dataset: 512 faces of its own train split, stratified].")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder for the .tflite files.")
@click.option("--modes", default="float32,float16,dynamic,int8", show_default=True, help="Comma-separated.")
@click.option("--io", "io_type", default="int8", show_default=True, type=click.Choice(IO_TYPES),
              help="Input/output type of the int8 model.")
@click.option("--name", default=None, help="File name stem [the run folder's name].")
@click.option("--edgetpu", is_flag=True, help="Also run edgetpu_compiler on the int8 file, if installed.")
@click.option("--flip-average", is_flag=True,
              help="Build the mean over the face and its mirror image into the model (2x the compute).")
@click.option("--zoom-crop", default=0, show_default=True, type=click.IntRange(0, MAX_ZOOM_CROP), metavar="PIXELS",
              help="With --flip-average: the unmirrored pass sees the face with PIXELS cut from each side "
                   "(2 enlarges it 1.09x), so the two passes differ in framing too; same compute.")
@click.option("--snap-weights", is_flag=True,
              help="Round the kernels to their int8 values first: float32 and int8 files then share their weights.")
@click.option("--with", "members", multiple=True, type=click.Path(),
              help="Another trained run (same labels) to average with MODEL inside the same file (repeatable).")
@click.option("--mirror-members", is_flag=True,
              help="The --with runs see the face's mirror image, MODEL the face: a flip average across networks, "
                   "one pass each.")
@click.option("--geometry", default=None, type=click.Path(),
              help="Crop geometry JSON (edgefer framing fit) to carry in the files [FER2013's for FER2013/FER+ runs].")
@click.option("--interop", default=None, type=click.Choice(INTEROP_TOOLS),
              help="Also write NAME_mediapipe.tflite from the float32 file: colour input, loads in MediaPipe Tasks' "
                   "ImageClassifier as it is.")
@friendly_errors
def quantize(model_path, data_path, manifest, out_dir, modes, **options):
    """Convert a trained model (run folder or model.keras) to TFLite, one file per mode.

    Every file carries its labels, input size and normalisation inside it. The int8 file is
    full-integer, calibrated on the manifest's training images; an op report says which ops
    the Edge TPU could run.

    \b
    Examples:
      edgefer quantize runs/lite0 --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/
      edgefer quantize runs/lite0 --with runs/lite0-b --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/ --name ensemble
      edgefer quantize runs/lite0 --with runs/lite0-b --mirror-members --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/ --name pair
      edgefer quantize runs/lite0 --flip-average --zoom-crop 2 --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/
      edgefer quantize runs/lite0 --modes float32,int8 --interop mediapipe --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/
    """
    from edgefer.convert.options import QuantizeOptions
    from edgefer.core.metadata import read_geometry
    from edgefer.data.calibration import read_manifest

    settings = QuantizeOptions(modes=tuple(m.strip() for m in modes.split(",") if m.strip()), **options)
    check_inputs(model_path, out_dir)
    for member in options["members"]:
        check_inputs(member)
    check_inputs(data_path)
    if manifest:
        check_inputs(manifest)
        read_manifest(manifest)  # a bad manifest is refused before TensorFlow loads
    if settings.geometry:
        read_geometry(settings.geometry)  # a bad file is refused before TensorFlow loads
    quiet_tensorflow()
    require_tensorflow("quantize")
    from edgefer.convert.quantize import quantize as run_quantize
    from edgefer.core.files import removed_on_failure

    with removed_on_failure(out_dir):  # refused or interrupted: a folder it made is not left half-filled
        run_quantize(model_path, data_path, manifest, out_dir, options=settings,
                     echo=lambda line: click.echo(line, err=True))


@main.command("compile-edgetpu")
@click.argument("model", metavar="MODEL")
@click.option("--out", "out_dir", default="models", show_default=True, type=click.Path(),
              help="Folder for NAME_int8_edgetpu.tflite and the compiler's log.")
@friendly_errors
def compile_edgetpu(model, out_dir):
    """Compile an int8 file for the Coral Edge TPU with edgetpu_compiler (x86-64 Linux, from Coral's apt
    repository): a bundled model's name or an int8 .tflite; the result keeps the file's metadata.

    \b
    Example:
      edgefer compile-edgetpu fer2013-lite0 --out models/
      edgefer run --device coral-usb --model models/fer2013-lite0_int8_edgetpu.tflite
    """
    from edgefer.convert.edgetpu import NOT_INSTALLED, compile_for_edgetpu
    from edgefer.core.files import check_output_folder
    from edgefer.device.bundled import resolve_model

    path = resolve_model(model)
    check_inputs(path, out_dir)
    check_output_folder(out_dir)
    line = compile_for_edgetpu(path, out_dir)
    if line == NOT_INSTALLED:
        raise EdgeferError(f"{line}: install Coral's edgetpu-compiler package (x86-64 Linux) and run this again")
    click.echo(line)
