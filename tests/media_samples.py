"""Sample files made on the fly: real JPEG/PNG/GIF/WebP/MP4 bytes and hostile look-alikes."""

import io

from PIL import Image, ImageDraw


def jpeg_bytes(
    size=(800, 600), *, color=(200, 80, 40), orientation: int | None = None, gps: bool = False, quality: int = 90
) -> bytes:
    img = Image.new("RGB", size, color)
    # a blue block in the top-left corner, so orientation can be seen in the pixels
    ImageDraw.Draw(img).rectangle((0, 0, size[0] // 6, size[1] // 6), fill=(0, 0, 255))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x010F] = "TestCam"
        exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=quality, exif=exif.tobytes() if (orientation or gps) else b"")
    return buffer.getvalue()


def png_rgba_bytes(size=(400, 400)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    for x in range(size[0] // 2):
        for y in range(size[1]):
            img.putpixel((x, y), (255, 0, 0, 255))
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def gif_animated_bytes(size=(320, 240)) -> bytes:
    frames = [Image.new("P", size, i * 40) for i in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def webp_bytes(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format="WEBP", quality=80)
    return buffer.getvalue()


def decompression_bomb_png() -> bytes:
    """A tiny PNG file that claims 30000x30000 pixels (900 MP)."""
    buffer = io.BytesIO()
    Image.new("1", (30000, 30000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def mp4_bytes(*, frames: int = 12, size=(320, 240)) -> bytes:
    """H.264 in MP4, which every browser plays (MPEG-4 Part 2, FFmpeg's "mpeg4", plays in none)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=12)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            img = Image.new("RGB", size, (20 * index % 255, 100, 180))
            frame = av.VideoFrame.from_image(img)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()
