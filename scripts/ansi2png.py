#!/usr/bin/env python3
"""Render a terminal screen captured with `tmux capture-pane -e -p` (text with SGR escape
codes) to a PNG, cell by cell, in DejaVu Sans Mono. Used by scripts/screenshots.

usage: ansi2png.py SCREEN.ans OUT.png [--cols N] [--rows N] [--light]
"""
import argparse
import re

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
SIZE = 15

# xterm's default 16-colour palette.
PALETTE = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESC = re.compile(r"\x1b[\[\]()][0-9;?]*[A-Za-z]")


def xterm256(n):
    if n < 16:
        return PALETTE[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return (v, v, v)


class Pen:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in re.split(r"[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif c == 49:
                self.bg = None
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    colour = xterm256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    colour = tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    colour = None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
            i += 1


def parse(text, cols, rows):
    """A grid of (char, fg, bg, bold, italic, underline) cells."""
    grid = []
    pen = Pen()
    for line in text.split("\n")[:rows]:
        row = []
        pos = 0
        line = OTHER_ESC.sub(lambda m: m.group(0) if m.group(0).endswith("m") else "", line)
        for m in SGR.finditer(line + "\x1b[m"):
            for ch in line[pos:m.start()]:
                row.append((ch, pen.fg, pen.bg, pen.bold, pen.dim, pen.italic, pen.underline, pen.reverse))
            pen.apply(m.group(1))
            pos = m.end()
        grid.append(row[:cols])
    return grid


def render(grid, cols, rows, light, out):
    fonts = {
        (False, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono.ttf", SIZE),
        (True, False): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Bold.ttf", SIZE),
        (False, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-Oblique.ttf", SIZE),
        (True, True): ImageFont.truetype(FONT_DIR + "DejaVuSansMono-BoldOblique.ttf", SIZE),
    }
    regular = fonts[(False, False)]
    cw = round(regular.getlength("M"))
    ascent, descent = regular.getmetrics()
    ch = ascent + descent + 2
    default_fg, default_bg = ((30, 30, 30), (250, 250, 245)) if light else ((220, 220, 220), (24, 26, 33))
    pad = 10
    img = Image.new("RGB", (cols * cw + 2 * pad, rows * ch + 2 * pad), default_bg)
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, (c, fg, bg, bold, dim, italic, underline, reverse) in enumerate(row):
            fg = fg or default_fg
            bg = bg or default_bg
            if reverse:
                fg, bg = bg, fg
            if dim:
                fg = tuple((a + b) // 2 for a, b in zip(fg, bg))
            px, py = pad + x * cw, pad + y * ch
            if bg != default_bg:
                draw.rectangle([px, py, px + cw - 1, py + ch - 1], fill=bg)
            if c.strip():
                if not draw_box(draw, c, px, py, cw, ch, fg, bold):
                    draw.text((px, py + 1), c, font=fonts[(bold, italic)], fill=fg)
            if underline:
                draw.line([px, py + ch - 2, px + cw - 1, py + ch - 2], fill=fg)
    img.save(out)


# Box drawing by hand: fonts rarely join these into unbroken lines.
BOX = {
    "─": "lr", "━": "LR", "│": "ud", "┃": "UD", "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu",
    "┏": "RD", "┓": "LD", "┗": "RU", "┛": "LU", "═": "=", "║": "!", "╔": "=rd", "╗": "=ld",
    "╚": "=ru", "╝": "=lu",
}


def draw_box(draw, c, px, py, cw, ch, fg, bold):
    spec = BOX.get(c)
    if spec is None:
        return False
    cx, cy = px + cw // 2, py + ch // 2
    if spec in ("=", "!") or spec.startswith("="):
        # Double lines: two thin strokes.
        if spec == "=":
            for off in (-2, 2):
                draw.line([px, cy + off, px + cw, cy + off], fill=fg)
        elif spec == "!":
            for off in (-2, 2):
                draw.line([cx + off, py, cx + off, py + ch], fill=fg)
        else:
            corner = spec[1:]
            sx = 1 if "r" in corner else -1
            sy = 1 if "d" in corner else -1
            h_edge = px + cw if sx > 0 else px
            v_edge = py + ch if sy > 0 else py
            for k in (-2, 2):
                x0, y0 = cx + k * sx, cy + k * sy
                draw.line([x0, y0, h_edge, y0], fill=fg)
                draw.line([x0, y0, x0, v_edge], fill=fg)
        return True
    width = 3 if spec.isupper() else 1
    s = spec.lower()
    if "l" in s:
        draw.line([px, cy, cx, cy], fill=fg, width=width)
    if "r" in s:
        draw.line([cx, cy, px + cw, cy], fill=fg, width=width)
    if "u" in s:
        draw.line([cx, py, cx, cy], fill=fg, width=width)
    if "d" in s:
        draw.line([cx, cy, cx, py + ch], fill=fg, width=width)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("screen")
    ap.add_argument("out")
    ap.add_argument("--cols", type=int, default=120)
    ap.add_argument("--rows", type=int, default=34)
    ap.add_argument("--light", action="store_true")
    a = ap.parse_args()
    with open(a.screen, encoding="utf-8", errors="replace") as f:
        grid = parse(f.read(), a.cols, a.rows)
    render(grid, a.cols, a.rows, a.light, a.out)


if __name__ == "__main__":
    main()
