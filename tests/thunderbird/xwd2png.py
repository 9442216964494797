#!/usr/bin/python3
"""xwd2png.py IN.xwd OUT.png [X Y W H] - convert an X window dump (xwd -root
of a 24/32-bit TrueColor screen, as Xvfb gives) to PNG, optionally
cropped, with the standard library only."""
import struct
import sys
import zlib


def read_xwd(path):
    """(width, height, rows of RGB bytes) of a ZPixmap, 32 bits a pixel."""
    data = open(path, "rb").read()
    h = struct.unpack(">25I", data[:100])
    header_size, _version, pix_format, depth, width, height = h[:6]
    byte_order, bits_per_pixel, bytes_per_line = h[7], h[11], h[12]
    red_mask, green_mask, blue_mask = h[14], h[15], h[16]
    ncolors = h[19]
    if pix_format != 2 or bits_per_pixel != 32:
        sys.exit("xwd2png: only 32-bit ZPixmap dumps (depth %d, bpp %d)" % (depth, bits_per_pixel))
    off = header_size + ncolors * 12
    fmt = "<I" if byte_order == 0 else ">I"

    def shift(mask):
        s = 0
        while mask and not mask & 1:
            mask >>= 1
            s += 1
        return s
    rs, gs, bs = shift(red_mask), shift(green_mask), shift(blue_mask)
    rows = []
    for y in range(height):
        line = data[off + y * bytes_per_line: off + y * bytes_per_line + width * 4]
        out = bytearray(width * 3)
        for x, (p,) in enumerate(struct.iter_unpack(fmt, line)):
            out[3 * x] = (p & red_mask) >> rs
            out[3 * x + 1] = (p & green_mask) >> gs
            out[3 * x + 2] = (p & blue_mask) >> bs
        rows.append(bytes(out))
    return width, height, rows


def write_png(path, width, rows):
    """Write 8-bit RGB rows as a PNG."""
    def chunk(kind, body):
        c = kind + body
        return struct.pack(">I", len(body)) + c + struct.pack(">I", zlib.crc32(c) & 0xffffffff)
    raw = b"".join(b"\0" + r for r in rows)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def main():
    w, h, rows = read_xwd(sys.argv[1])
    if len(sys.argv) == 7:
        x, y, cw, ch = (int(a) for a in sys.argv[3:7])
        x, y = max(0, min(x, w - 1)), max(0, min(y, h - 1))
        cw, ch = min(cw, w - x), min(ch, h - y)
        rows = [r[3 * x: 3 * (x + cw)] for r in rows[y: y + ch]]
        w = cw
    write_png(sys.argv[2], w, rows)


main()
