"""Issue 16: a bounded fuzzing battery over the image readers (read_image / probe_image).

Real files (EXR ZIP, PIZ, DWAB, RLE layers, tiled and multi-part; Radiance HDR; 8/16-bit
PNG; baseline and progressive JPEG; 8/16-bit and float32 TIFF), written by the program's
writers or by OpenEXR/OpenCV/tifffile from a small crop of a real panorama, are damaged by
bit flips, byte overwrites, deleted or doubled bytes and absurd integers written over
sizes and offsets (the header region weighted), and cut at random lengths; headers are
made to claim absurd sizes; decompression bombs, empty files, wrong extensions, a folder,
a pipe and a device named like images and 0 x 0 images are read too. The tests that say
"Found by this battery" fail on the readers as they were before issue 16.

Every case must end in a result (finite float32 H x W x 3 pixels of the header's size) or a
SkysegError subclass: no other exception, no hang, no crash, and no large allocation. The
reader runs in a child process (`_Reader`), so a segfault or a hang inside a decoder fails
one case instead of killing pytest: each case has a time bound, the child's data segment
is capped (RLIMIT_DATA), and its peak resident memory is measured per case (VmHWM, reset
before each case through /proc/self/clear_refs).

Hypothesis, derandomised and bounded (EXAMPLES cases per source). SKYSEG_FUZZ_RANDOM=1
(with pytest's --hypothesis-seed=<n>) explores other cases and SKYSEG_FUZZ_EXAMPLES=<n>
runs more of them (SKYSEG_FUZZ_LOG=<file> appends every case's result to it); the files
of failing cases are kept under the test's temporary folder and named in the failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import OpenEXR
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skysegui.core.imageio import (
    MAX_PIXELS,
    read_image,
    write_exr,
    write_hdr,
    write_jpg,
    write_png,
    write_tiff,
)
from tests.e2e import _faults as F

# the reader process relies on /proc (peak memory), RLIMIT_DATA and pipes; so do the cases
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux-only harness")

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_HDRI = REPO_ROOT.parent / "shared" / "data" / "hdri"

EXAMPLES = int(os.environ.get("SKYSEG_FUZZ_EXAMPLES", "150"))
BOUND = settings(
    max_examples=EXAMPLES, deadline=None, database=None,
    derandomize=not os.environ.get("SKYSEG_FUZZ_RANDOM"),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_LOG = os.environ.get("SKYSEG_FUZZ_LOG")
#: A case (probe + read of a file of a few KB) that runs longer than this is a hang.
CASE_TIMEOUT_S = 20.0
#: The child's data segment may grow by this much over its start (a safety net for the
#: machine): a reader that believes an absurd header runs out of memory instead, which
#: read_image reports as ImageTooLargeError "not enough memory", a failed case here.
DATA_LIMIT = 1536 * 1024 * 1024
#: Peak resident memory a case of a damaged small file may add: the sources hold 2,048
#: pixels, so anything near this means a reader allocated for a size the file cannot hold.
CASE_MEMORY = 96 * 1024 * 1024

_WORKER = r"""
import json, os, resource, sys, time, traceback, warnings

out = os.fdopen(int(sys.argv[1]), "w", buffering=1)
import numpy as np
from skysegui.core.errors import SkysegError
from skysegui.core.imageio import probe_image, read_image

def _status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0

def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False

data = _status("VmData")
resource.setrlimit(resource.RLIMIT_DATA, (data + int(sys.argv[2]), resource.RLIM_INFINITY))
warnings.simplefilter("ignore")
out.write("ready\n")
for line in sys.stdin:
    path = line.rstrip("\n")
    resettable = _reset_peak()
    base = _status("VmRSS")
    start = time.perf_counter()
    result = {}
    try:
        info = probe_image(path)
        result["probe"] = [info.width, info.height]
        image = read_image(path)
        pixels = image.pixels
        result.update(kind="ok", shape=list(pixels.shape), dtype=pixels.dtype.name,
                      finite=bool(np.isfinite(pixels).all()),
                      size=[image.info.width, image.info.height])
        del image, pixels
    except SkysegError as exc:
        result.update(kind="typed", cls=type(exc).__name__, msg=str(exc)[:400])
    except BaseException as exc:
        result.update(kind="other", cls=type(exc).__name__,
                      msg="".join(traceback.format_exception(exc))[-3000:])
    result["seconds"] = time.perf_counter() - start
    result["peak"] = (_status("VmHWM") - base) if resettable else -1
    out.write(json.dumps(result) + "\n")
"""


class _Reader:
    """probe_image + read_image in a child process, one file at a time, with a time bound.

    A child that dies (a segfault in a decoder) or does not answer in time is replaced, and
    the case is reported as "crash" or "hang"."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS="1")
        env.pop("SKYSEG_NATIVE_STDERR", None)
        self.stderr = open(self.folder / "reader-stderr.txt", "ab")  # noqa: SIM115 (lives with the child)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(write_fd), str(DATA_LIMIT)],
            stdin=subprocess.PIPE, stdout=self.stderr, stderr=self.stderr, pass_fds=(write_fd,),
            cwd=REPO_ROOT, env=env, text=True,
        )
        os.close(write_fd)
        self.fd, self.buffer = read_fd, b""
        if self._line(60.0) != "ready":
            raise RuntimeError("the reader process did not start")

    def _line(self, timeout: float) -> str | None:
        end = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:  # the child closed its end: it died
                self.proc.wait(timeout=30)
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()

    def _stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            try:  # a path written to a reader that had died is still buffered: closing flushes it
                self.proc.stdin.close()
            except BrokenPipeError:
                pass
            os.close(self.fd)
            self.stderr.close()
            self.proc = None

    def read(self, path: Path, timeout: float = CASE_TIMEOUT_S) -> dict:
        if self.proc is None:
            self._start()
        printed = os.fstat(self.stderr.fileno()).st_size
        try:
            self.proc.stdin.write(f"{path}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        line = self._line(timeout)
        if line is not None:
            result = json.loads(line)
            with open(self.folder / "reader-stderr.txt", "rb") as fh:
                fh.seek(printed)
                result["printed"] = fh.read(2000).decode("utf-8", "replace")
            return result
        code = self.proc.poll()
        self._stop()
        if code is None:
            return {"kind": "hang", "msg": f"no answer in {timeout:.0f} s", "printed": ""}
        return {"kind": "crash", "msg": f"the reader process died (exit code {code})", "printed": ""}

    def close(self) -> None:
        self._stop()


@pytest.fixture(scope="module")
def reader(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz_reader")
    r = _Reader(folder)
    yield r
    r.close()


def _verdict(result: dict, budget: int = CASE_MEMORY, out_of_memory_ok: bool = False) -> str | None:
    """Why a case failed, or None when it ended in a sound result or a typed error."""
    kind = result["kind"]
    if kind in ("hang", "crash", "other"):
        return f"{kind}: {result.get('cls', '')} {result['msg']}"
    if kind == "typed" and "not enough memory" in result["msg"] and not out_of_memory_ok:
        return f"the reader tried to allocate more than {DATA_LIMIT >> 20} MB: {result['msg']}"
    if result["printed"]:  # the decoders' own lines must never reach the user's terminal
        return f"the reader printed {result['printed']!r} ({kind}: {result.get('msg', '')})"
    if result["peak"] > budget:
        return f"peak memory grew by {result['peak'] / 2**20:.0f} MB ({kind}: {result.get('msg', '')})"
    if kind == "ok":
        width, height = result["size"]
        if result["shape"] != [height, width, 3] or result["dtype"] != "float32":
            return f"pixels {result['shape']} {result['dtype']} for a {width} x {height} image"
        if result["probe"] != [width, height]:
            return f"probe_image said {result['probe']}, read_image {width} x {height}"
        if not result["finite"]:
            return "pixels are not finite"
        if width * height > MAX_PIXELS:
            return f"{width} x {height} is more than MAX_PIXELS"
    return None


def _check(reader: _Reader, path: Path, data: bytes | None = None, budget: int = CASE_MEMORY,
           out_of_memory_ok: bool = False) -> dict:
    """Write `data` to `path` (when given), read it in the child and fail on a bad verdict,
    keeping a copy of the failing file (named in the failure) for a regression case."""
    if data is not None:
        path.write_bytes(data)
    result = reader.read(path)
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(json.dumps(dict(result, file=path.name, bytes=path.stat().st_size if path.is_file() else -1)) + "\n")
    why = _verdict(result, budget, out_of_memory_ok)
    if why is not None:
        kept = path.parent / "failed"
        kept.mkdir(exist_ok=True)
        copy = kept / f"{hashlib.sha1(path.read_bytes()).hexdigest()[:12]}{path.suffix}" if path.is_file() else path
        if path.is_file():
            copy.write_bytes(path.read_bytes())
        pytest.fail(f"{path.name} (kept as {copy}): {why}")
    return result


def test_the_reader_process_reports_crashes_and_hangs(reader, sources, tmp_path):
    """The harness itself: a reader that dies is a "crash", one that does not answer in
    time a "hang"; either is replaced and the next case runs."""
    path = tmp_path / "good.png"
    path.write_bytes(sources["png8"])
    assert reader.read(path)["kind"] == "ok"
    reader.proc.kill()
    assert reader.read(path)["kind"] == "crash"
    assert reader.read(path, timeout=0.0)["kind"] == "hang"
    assert reader.read(path)["kind"] == "ok"


# --- the real files to damage ---------------------------------------------------------
def _crop() -> np.ndarray:
    """32 x 64 linear RGB: a crop of a real panorama (sky, horizon and ground) when
    ../shared is there, else the fault helpers' synthetic radiance."""
    city = SHARED_HDRI / "city.exr"
    if city.exists():
        pixels = read_image(city).pixels
        y = pixels.shape[0] // 2 - 16
        return np.ascontiguousarray(pixels[y : y + 32, 400:464])
    return F.radiance(64, 32)


def _srgb(pixels: np.ndarray) -> np.ndarray:
    v = np.clip(pixels / max(float(np.percentile(pixels, 99)), 1e-6), 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def _openexr(path: Path, header: dict, channels: dict) -> None:
    OpenEXR.File(header, channels).write(str(path))


def _tiles(x: int, y: int):
    tiles = OpenEXR.TileDescription()
    tiles.xSize, tiles.ySize, tiles.mode = x, y, OpenEXR.ONE_LEVEL
    return tiles


def _write_sources(folder: Path) -> dict[str, Path]:
    crop = _crop()
    half = crop.astype(np.float16)
    ldr = _srgb(crop)
    scan = OpenEXR.scanlineimage
    made: dict[str, Path] = {}

    def name(key: str, ext: str) -> Path:
        made[key] = folder / f"{key}.{ext}"
        return made[key]

    write_exr(name("exr-zip", "exr"), crop)
    _openexr(name("exr-piz", "exr"), {"compression": OpenEXR.PIZ_COMPRESSION, "type": scan}, {"RGB": half})
    _openexr(name("exr-dwab", "exr"), {"compression": OpenEXR.DWAB_COMPRESSION, "type": scan}, {"RGB": crop})
    _openexr(name("exr-rle-layer", "exr"), {"compression": OpenEXR.RLE_COMPRESSION, "type": scan},
             {f"beauty.{c}": np.ascontiguousarray(crop[..., i]) for i, c in enumerate("RGB")})
    _openexr(name("exr-tiled", "exr"),
             {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.tiledimage, "tiles": _tiles(16, 16)},
             {"RGB": half})
    depth = np.linspace(1, 100, crop.shape[0] * crop.shape[1], dtype=np.float32).reshape(crop.shape[:2])
    OpenEXR.File([
        OpenEXR.Part({"compression": OpenEXR.RLE_COMPRESSION}, {"Z": depth}, "depth"),
        OpenEXR.Part({"compression": OpenEXR.ZIP_COMPRESSION}, {"RGB": half}, "beauty"),
    ]).write(str(name("exr-multipart", "exr")))
    write_hdr(name("hdr", "hdr"), crop)
    write_png(name("png8", "png"), ldr)
    write_png(name("png16-rgba", "png"), np.dstack([ldr, np.ones(ldr.shape[:2])]), bits=16)
    write_jpg(name("jpg", "jpg"), ldr, quality=90)
    ok, buf = cv2.imencode(".jpg", (ldr[..., ::-1] * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    name("jpg-progressive", "jpg").write_bytes(buf.tobytes())
    tifffile.imwrite(name("tif8", "tif"), (ldr * 255).astype(np.uint8), photometric="rgb")
    tifffile.imwrite(name("tif16-zlib", "tif"), (ldr * 65535).astype(np.uint16), photometric="rgb",
                     compression="zlib")
    write_tiff(name("tif-float", "tif"), crop)
    return made


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz_sources")
    found = {key: path.read_bytes() for key, path in _write_sources(folder).items()}
    return found


SOURCES = ("exr-zip", "exr-piz", "exr-dwab", "exr-rle-layer", "exr-tiled", "exr-multipart", "hdr",
           "png8", "png16-rgba", "jpg", "jpg-progressive", "tif8", "tif16-zlib", "tif-float")
_EXT = {"exr": "exr", "hdr": "hdr", "png": "png", "jpg": "jpg", "tif": "tif"}


def _ext(key: str) -> str:
    return _EXT[key.split("-")[0].rstrip("0123456789")]


# --- damage ---------------------------------------------------------------------------
#: (position, operation, in the header?, value): operations 0-7 flip that bit, 8-11
#: overwrite the byte with 0x00, 0xFF, 0x7F, 0x80, 12 deletes it and 13 doubles it
#: (everything after shifts), 14-16 write `value` there as a 32-bit little-endian, 32-bit
#: big-endian or 16-bit big-endian integer (sizes, counts and offsets made absurd).
EDITS = st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 16), st.booleans(), st.integers(0, 10)),
                 max_size=6)
CUTS = st.one_of(st.none(), st.integers(0, 2**31))
_OVERWRITE = (0x00, 0xFF, 0x7F, 0x80)
_VALUES = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 8192, 16384, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
_PACK = {14: "<I", 15: ">I", 16: ">H"}


def damage(data: bytes, edits, cut, header: int = 1024) -> bytes:
    out = bytearray(data)
    for position, op, in_header, value in edits:
        if not out:
            break
        span = min(len(out), header) if in_header else len(out)
        at = position % span
        if op < 8:
            out[at] ^= 1 << op
        elif op < 12:
            out[at] = _OVERWRITE[op - 8]
        elif op == 12:
            del out[at]
        elif op == 13:
            out.insert(at, out[at])
        else:
            packed = struct.pack(_PACK[op], _VALUES[value] & (0xFFFF if op == 16 else 0xFFFFFFFF))
            out[at : at + len(packed)] = packed
    if cut is not None:
        out = out[: cut % (len(out) + 1)]
    return bytes(out)


@pytest.mark.parametrize("key", SOURCES)
def test_sources_read_back(reader, sources, tmp_path, key):
    result = _check(reader, tmp_path / f"good.{_ext(key)}", sources[key])
    assert result["kind"] == "ok", result
    assert result["size"] == [64, 32]


@pytest.mark.parametrize("key", SOURCES)
@BOUND
@given(edits=EDITS, cut=CUTS)
def test_damaged_files_read_or_raise_typed(reader, sources, tmp_path, key, edits, cut):
    _check(reader, tmp_path / f"case.{_ext(key)}", damage(sources[key], edits, cut))


@pytest.mark.parametrize("name", ["city.exr", "sunset.exr"])
@settings(BOUND, max_examples=max(4, EXAMPLES // 3))
@given(edits=EDITS, cut=CUTS)
def test_damaged_shared_dwab_panoramas(reader, hdri_dir, tmp_path, name, edits, cut):
    """The real 1024 x 512 DWAB panoramas of ../shared (header weighted: most bytes are pixels)."""
    source = hdri_dir / name
    _check(reader, tmp_path / "case.exr", damage(source.read_bytes(), edits, cut, header=4096))


# --- hand-made files: absurd sizes, decompression bombs ---------------------------------
def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _png_bomb(side: int) -> bytes:
    """A real, valid 1-bit grey PNG of side x side black pixels (about 50 KB at 20000)."""
    row, packer = bytes(1 + (side + 7) // 8), zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b""))


def _exr_attr(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _exr_bomb(parts: list[tuple[int, int, list[str], int]]) -> bytes:
    """A real, valid ZIP-compressed scan-line EXR of black pixels: one part per (width,
    height, channel names, pixel type 1 half / 2 float), several parts as a multi-part
    file. Every chunk of 16 lines compresses to the same few KB, however large it is."""
    multipart = len(parts) > 1
    window = struct.pack("<iiii", 0, 0, parts[0][0] - 1, parts[0][1] - 1)
    headers, chunks = [], []
    for index, (width, height, names, pixel_type) in enumerate(parts):
        chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", pixel_type, 0, 1, 1)
                          for n in sorted(names)) + b"\0"
        count = -(-height // 16)
        attrs = [_exr_attr("channels", "chlist", chlist), _exr_attr("compression", "compression", b"\x03"),
                 _exr_attr("dataWindow", "box2i", struct.pack("<iiii", 0, 0, width - 1, height - 1)),
                 _exr_attr("displayWindow", "box2i", window), _exr_attr("lineOrder", "lineOrder", b"\0"),
                 _exr_attr("pixelAspectRatio", "float", struct.pack("<f", 1)),
                 _exr_attr("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0)),
                 _exr_attr("screenWindowWidth", "float", struct.pack("<f", 1))]
        if multipart:
            attrs += [_exr_attr("name", "string", f"part{index}".encode()),
                      _exr_attr("type", "string", b"scanlineimage"),
                      _exr_attr("chunkCount", "int", struct.pack("<i", count))]
        headers.append(b"".join(attrs) + b"\0")
        line = width * len(names) * (2 if pixel_type == 1 else 4)
        packed = {}
        for c in range(count):
            lines = min(16, height - 16 * c)
            if lines not in packed:
                packed[lines] = zlib.compress(bytes(lines * line), 9)
            leader = (struct.pack("<i", index) if multipart else b"") + struct.pack("<ii", 16 * c, len(packed[lines]))
            chunks.append(leader + packed[lines])
    head = struct.pack("<ii", 20000630, 2 | (0x1000 if multipart else 0)) + b"".join(headers)
    head += b"\0" if multipart else b""
    offsets, at = [], len(head) + 8 * len(chunks)
    for chunk in chunks:
        offsets.append(struct.pack("<Q", at))
        at += len(chunk)
    return head + b"".join(offsets) + b"".join(chunks)


def _tiff(width: int, height: int, pages: int = 1, samples: int = 1, strip: bytes | None = None) -> bytes:
    """A little-endian grey (or `samples` per pixel) 8-bit TIFF of `pages` pages whose one
    deflate strip each is the same bytes (default: the real strip of a black page)."""
    strip = zlib.compress(bytes(width * height * samples), 9) if strip is None else strip
    data_at = 8
    ifd_at = data_at + len(strip) + (len(strip) & 1)
    tags = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, data_at),
            (277, 3, samples), (278, 4, height), (279, 4, len(strip)), (284, 3, 1)]
    size = 2 + 12 * len(tags) + 4
    out = bytearray(b"II*\0" + struct.pack("<I", ifd_at) + strip + b"\0" * (len(strip) & 1))
    for page in range(pages):
        out += struct.pack("<H", len(tags))
        for tag, kind, value in tags:
            out += struct.pack("<HHI", tag, kind, 1) + struct.pack("<I" if kind == 4 else "<H2x", value)
        out += struct.pack("<I", ifd_at + size * (page + 1) if page + 1 < pages else 0)
    return bytes(out)


#: what a refused case may add to the reader's resident memory: far below any claimed size
SMALL = 48 * 1024 * 1024


def _typed(reader: _Reader, path: Path, data: bytes | None, cls: str, match: str = "",
           budget: int = SMALL) -> dict:
    result = _check(reader, path, data, budget=budget)
    assert (result["kind"], result.get("cls")) == ("typed", cls), result
    assert match in result["msg"], result["msg"]
    return result


def _set_exr_window(data: bytes, x0: int, y0: int, x1: int, y1: int, which: int = 0) -> bytes:
    out, key, at = bytearray(data), b"dataWindow\x00box2i\x00", -1
    for _ in range(which + 1):
        at = out.find(key, at + 1)
    struct.pack_into("<iiii", out, at + len(key) + 4, x0, y0, x1, y1)
    return bytes(out)


def _set_png_size(data: bytes, width: int, height: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(">II", out, 16, width, height)
    struct.pack_into(">I", out, 29, zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    return bytes(out)


def _set_jpeg_size(data: bytes, width: int, height: int) -> bytes:
    out, pos = bytearray(data), 2
    while out[pos + 1] not in (0xC0, 0xC1, 0xC2):  # walk the markers to the frame header
        pos += 2 + struct.unpack(">H", out[pos + 2 : pos + 4])[0]
    struct.pack_into(">HH", out, pos + 5, height, width)
    return bytes(out)


def _set_hdr_size(data: bytes, line: bytes) -> bytes:
    head, sep, rest = data.partition(b"\n\n")
    return head + sep + line + b"\n" + rest.partition(b"\n")[2]


def _set_tiff_size(path: Path, data: bytes, width: int, height: int) -> bytes:
    path.write_bytes(data)
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages[0].tags
        spots = [(tags[k].valueoffset, int(tags[k].dtype), v) for k, v in (("ImageWidth", width), ("ImageLength", height))]
    out = bytearray(data)
    for offset, dtype, value in spots:
        struct.pack_into("<I" if dtype == 4 else "<H", out, offset, value)
    return bytes(out)


def _claim(sources: dict[str, bytes], tmp_path: Path, key: str, width: int, height: int) -> bytes:
    """The source `key` with a header that says width x height (the rest of the file kept)."""
    data = sources[key]
    fmt = _ext(key)
    if fmt == "exr":
        return _set_exr_window(data, 0, 0, width - 1, height - 1)
    if fmt == "png":
        return _set_png_size(data, width, height)
    if fmt == "jpg":
        return _set_jpeg_size(data, width, height)
    if fmt == "hdr":
        return _set_hdr_size(data, f"-Y {height} +X {width}".encode())
    return _set_tiff_size(tmp_path / "tags.tif", data, width, height)


@pytest.mark.parametrize("key", ["exr-zip", "exr-tiled", "exr-dwab", "hdr", "png8", "jpg", "tif8", "tif-float"])
def test_absurd_header_sizes_are_refused_before_allocating(reader, sources, tmp_path, key):
    """100000 x 100000 (65535 x 65535 for JPEG, its limit): ImageTooLargeError from the
    header, the reader's memory far below the 120 GB such a picture would take."""
    width, height = (65535, 65535) if key == "jpg" else (100_000, 100_000)
    _typed(reader, tmp_path / f"huge.{_ext(key)}", _claim(sources, tmp_path, key, width, height),
           "ImageTooLargeError", f"{width} x {height} pixels")


def test_exr_windows_at_the_int32_extremes_are_refused(reader, sources, tmp_path):
    data = _set_exr_window(sources["exr-zip"], -(2**31), -(2**31), 2**31 - 1, 2**31 - 1)
    _typed(reader, tmp_path / "extreme.exr", data, "ImageTooLargeError", "4294967296 x 4294967296")
    data = _set_exr_window(sources["exr-zip"], 10, 10, 0, 0)  # an inverted window
    _typed(reader, tmp_path / "inverted.exr", data, "ImageReadError", "has no pixels")


@pytest.mark.parametrize("key", ["png8", "png16-rgba", "jpg", "jpg-progressive", "hdr", "tif8", "tif16-zlib", "tif-float"])
def test_a_size_the_file_cannot_hold_is_refused_before_decoding(reader, sources, tmp_path, key):
    """Found by this battery: a file of a few KB whose header claims 16384 x 8192 (within
    MAX_PIXELS) made the decoders allocate the whole picture first: 1.6 GB and an untyped
    cv2.error for Radiance HDR, 765 MB and 10 s for a deflate TIFF, a 2 GB grey picture for
    JPEG (MemoryError where memory was short). Now CorruptImageError from the header and
    the file's length (the format's best compression ratio), before any decoding."""
    data = _claim(sources, tmp_path, key, 16384, 8192)
    _typed(reader, tmp_path / f"claims.{_ext(key)}", data, "CorruptImageError",
           "is truncated or its header is damaged: a 16384 x 8192")


@pytest.mark.parametrize("key", ["exr-zip", "exr-piz", "exr-dwab", "exr-tiled", "exr-rle-layer"])
def test_exr_claiming_a_size_its_file_cannot_hold_is_a_typed_error(reader, sources, tmp_path, key):
    """OpenEXR checks the chunk table itself before it decodes, but may reserve (not touch)
    the pixels' address space first: under the reader's data limit that is ImageTooLargeError
    "not enough memory", allowed here; resident memory must not grow."""
    data = _claim(sources, tmp_path, key, 16384, 8192)
    result = _check(reader, tmp_path / "claims.exr", data, budget=SMALL, out_of_memory_ok=True)
    assert result["kind"] == "typed", result


def test_decompression_bomb_png_is_refused_from_its_header(reader, tmp_path):
    """A valid 48 KB PNG of 20000 x 20000 black pixels (400 M pixels, 1.2 GB as 8-bit RGB)."""
    _typed(reader, tmp_path / "bomb.png", _png_bomb(20000), "ImageTooLargeError", "20000 x 20000 pixels")


def test_decompression_bomb_exr_is_refused_from_its_header(reader, tmp_path):
    """A valid 300 KB ZIP EXR of 12000 x 12000 (144 M) black half pixels."""
    _typed(reader, tmp_path / "bomb.exr", _exr_bomb([(12000, 12000, ["Y"], 1)]),
           "ImageTooLargeError", "12000 x 12000 pixels")


def test_exr_with_a_huge_second_part_is_refused(reader, tmp_path):
    """Found by this battery: only the part with colour was checked against MAX_PIXELS, but
    OpenEXR's File API decodes every part. A valid 800 KB two-part EXR (64 x 32 RGB, then
    a 20000 x 10000 float depth part: 800 MB) is now refused before decoding."""
    data = _exr_bomb([(64, 32, ["R", "G", "B"], 1), (20000, 10000, ["Z"], 2)])
    _typed(reader, tmp_path / "parts.exr", data, "ImageTooLargeError", "20000 x 10000 pixels")


def test_exr_with_dozens_of_channels_is_refused_before_decoding(reader, tmp_path):
    """Found by this battery: 8192 x 4096 is within MAX_PIXELS, but with 30 float AOVs
    beside RGB OpenEXR decodes 4.1 GB (every channel). Refused from the header now, with
    what to do; a file within MAX_DECODE_BYTES still reads."""
    names = ["R", "G", "B"] + [f"aov{i:02d}" for i in range(30)]
    _typed(reader, tmp_path / "aovs.exr", _exr_bomb([(8192, 4096, names, 2)]), "ImageTooLargeError",
           "holds 33 channels: decoding it needs 4.1 GB")
    small = _exr_bomb([(256, 128, names, 2)])
    assert _check(reader, tmp_path / "few.exr", small)["kind"] == "ok"


def test_tiff_stack_reads_its_first_page_only(reader, tmp_path):
    """Found by this battery: a TIFF series of several pages was decoded whole and its
    first page kept. 600 pages of 2048 x 2048 (80 KB on disk, 2.4 GB decoded) now read
    as the first page alone."""
    result = _check(reader, tmp_path / "stack.tif", _tiff(2048, 2048, pages=600), budget=160 * 2**20)
    assert result["kind"] == "ok" and result["size"] == [2048, 2048], result


def test_tiff_with_hundreds_of_samples_per_pixel_is_refused(reader, tmp_path):
    _typed(reader, tmp_path / "samples.tif", _tiff(2048, 2048, samples=600, strip=b"x" * 10),
           "ImageTooLargeError", "600 samples per pixel")


# --- empty, odd and misnamed files -------------------------------------------------------
@pytest.mark.parametrize("ext", [".exr", ".hdr", ".tif", ".tiff", ".png", ".jpg", ".jpeg"])
def test_empty_and_all_zero_files(reader, tmp_path, ext):
    _typed(reader, tmp_path / f"empty{ext}", b"", "EmptyImageError", "is empty (0 bytes)")
    _typed(reader, tmp_path / f"zeros{ext}", bytes(4096), "UnsupportedFormatError", "unknown content")


def test_a_folder_a_pipe_and_a_device_named_like_images(reader, tmp_path):
    """A pipe named x.png used to be called 'a folder'; reading one would block forever."""
    (tmp_path / "folder.exr").mkdir()
    _typed(reader, tmp_path / "folder.exr", None, "ImageReadError", "is a folder")
    os.mkfifo(tmp_path / "pipe.png")
    _typed(reader, tmp_path / "pipe.png", None, "ImageReadError", "is not a regular file")
    (tmp_path / "zero.hdr").symlink_to("/dev/zero")
    _typed(reader, tmp_path / "zero.hdr", None, "ImageReadError", "is not a regular file")
    _typed(reader, tmp_path / "missing.jpg", None, "ImageReadError", "does not exist")


def test_every_format_under_every_other_extension(reader, sources, tmp_path):
    for key in ("exr-zip", "hdr", "png8", "jpg", "tif8"):
        for ext in ("exr", "hdr", "png", "jpg", "tif"):
            if ext != _ext(key):
                _typed(reader, tmp_path / f"{key}.{ext}", sources[key], "UnsupportedFormatError", "but is really")


@pytest.mark.parametrize("key", ["exr-zip", "hdr", "png8", "jpg", "tif8"])
def test_zero_by_zero_images(reader, sources, tmp_path, key):
    cls, match = ("CorruptImageError", "is a damaged TIFF") if key == "tif8" else ("ImageReadError", "has no pixels (0 x 0)")
    _typed(reader, tmp_path / f"empty.{_ext(key)}", _claim(sources, tmp_path, key, 0, 0), cls, match)


def test_radiance_size_of_thousands_of_digits(reader, sources, tmp_path):
    """Found by this battery: int() of a 5000-digit size raised a raw ValueError (Python's
    4300-digit limit) instead of a typed error."""
    data = _set_hdr_size(sources["hdr"], b"-Y " + b"9" * 5000 + b" +X 64")
    _typed(reader, tmp_path / "digits.hdr", data, "CorruptImageError", "no size line")
