"""`skysegui info IMAGE`: what an image file holds and its dynamic range."""

from __future__ import annotations

from skysegui.cli import options

_FORMAT_NAMES = {"exr": "OpenEXR", "hdr": "Radiance HDR", "tiff": "TIFF", "png": "PNG", "jpg": "JPEG"}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info",
        help="print an image's size, channels, type, bit depth and dynamic range",
        description="Read IMAGE (EXR, HDR, TIFF, PNG, JPEG) and print its size, channels, "
        "bit depth, whether it is HDR, the colour primaries it declares, min/median/max "
        "luminance, its dynamic range in stops, how many NaN/Inf/negative values were replaced on reading and what the decoder "
        "reported about a damaged picture it still decoded (also as a `warning:` line, "
        "unless --quiet).",
    )
    p.add_argument("image", help="the image file")
    options.add_quiet(p)
    options.add_json(p)
    p.set_defaults(func=run)


def describe(path) -> dict:
    """Everything `info` prints, as plain data."""
    from skysegui.core.imageio import read_image
    from skysegui.core.tonemap.stats import luminance_stats

    image = read_image(path)
    info, stats = image.info, luminance_stats(image.pixels)
    return {
        "file": str(info.path),
        "format": info.source_type,
        "width": info.width,
        "height": info.height,
        "channels": list(info.channels),
        "bit_depth": info.bit_depth,
        "sample_type": "float" if info.is_hdr else "integer",
        "hdr": info.is_hdr,
        "transfer": info.transfer,
        "primaries": info.primaries,
        "chromaticities": None if info.chromaticities is None else [float(v) for v in info.chromaticities],
        "converted_to_rec709": info.converted_to_rec709,
        "luminance": stats.as_dict(),
        "sanitised": {
            "nan": info.sanitised_nan,
            "inf": info.sanitised_inf,
            "negative": info.sanitised_negative,
        },
        "decoder_warnings": list(info.decoder_warnings),
    }


def format_text(d: dict) -> str:
    lum, san = d["luminance"], d["sanitised"]
    kind = "HDR, linear" if d["hdr"] else "LDR, sRGB"
    lines = [
        f"file:          {d['file']}",
        f"format:        {_FORMAT_NAMES.get(d['format'], d['format'])} ({kind})",
        f"size:          {d['width']} x {d['height']} ({d['width'] * d['height'] / 1e6:.2f} MP)",
        f"channels:      {', '.join(d['channels'])}",
        f"type:          {d['bit_depth']}-bit {d['sample_type']}",
        f"primaries:     {_primaries_text(d)}",
        f"luminance:     min {lum['min']:.6g}  median {lum['median']:.6g}  max {lum['max']:.6g}"
        + ("  (subsampled)" if lum["sampled"] else ""),
        f"dynamic range: {lum['stops']:.1f} stops (smallest positive {lum['min_positive']:.3g}); "
        f"{lum['robust_stops']:.1f} stops between the 0.1 and 99.9 percentiles",
        f"sanitised:     {san['nan']} NaN, {san['inf']} Inf, {san['negative']} negative values "
        "(set to 0, Inf to the largest finite value)",
    ]
    if d.get("decoder_warnings"):
        lines.append(f"decoder:       {'; '.join(d['decoder_warnings'])} "
                     "(the picture is damaged; parts of it may be wrong)")
    return "\n".join(lines)


def _primaries_text(d: dict) -> str:
    """'ACES AP0 (declared; converted to Rec.709 / sRGB for display and the network)'."""
    text = d.get("primaries", "")
    if d.get("converted_to_rec709"):
        text += " (declared; converted to Rec.709 / sRGB for display and the network, exports keep it)"
    return text


def run(args) -> int:
    d = describe(args.image)
    options.emit(args, d, format_text(d))
    return 0
