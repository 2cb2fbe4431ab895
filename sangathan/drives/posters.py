"""A4 QR posters for onboarding drives, in Hindi and English, as PDF and PNG.

The PDF is drawn with fpdf2: text is real, selectable text in an embedded, subset Noto Sans
Devanagari, shaped by HarfBuzz (uharfbuzz) so that conjuncts (श्व, द्य), the reph and the
pre-base matra ि come out right; the QR code is vector (one filled path of its dark modules).

The PNG is that same PDF page rasterised by PDFium (pypdfium2). Rasterising the PDF, rather than
laying the poster out a second time with Pillow, means the two can never drift apart, and the
Devanagari in the PNG is exactly the glyphs HarfBuzz chose for the PDF. Both wheels carry their
native libraries (HarfBuzz inside uharfbuzz, PDFium inside pypdfium2), so a fresh machine needs
only pip: no system fonts, no Cairo, Pango, Ghostscript or poppler. (Pillow's own Raqm layout
would also shape Hindi where its wheel bundles Raqm, but it would be a second layout to keep in
step with the first.)
"""

import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
import qrcode
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from fpdf import FPDF
from fpdf.enums import PathPaintRule
from fpdf.fonts import TTFFont
from fpdf.output import OutputProducer
from fpdf.syntax import PDFContentStream
from qrcode.constants import ERROR_CORRECT_M

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "NotoSansDevanagari"
FONT_FILES = {"": "NotoSansDevanagari-Regular.ttf", "B": "NotoSansDevanagari-Bold.ttf"}

# The fixed lines of every poster, printed in both languages whatever the reader's language.
VOLUNTARY_NOTICE = gettext_noop("Joining is voluntary; you choose which messages you get.")
AGE_NOTICE = gettext_noop("Only for people aged 18 or over.")

PAGE_W, PAGE_H = 210.0, 297.0  # A4 in mm
MARGIN = 15.0
CONTENT_W = PAGE_W - 2 * MARGIN
BAND_H = 16.0
QR_MIN, QR_MAX = 95.0, 125.0  # side of the QR's modules in mm (never under 9 cm)

BRAND = (0x1F, 0x2A, 0x44)
INK = (0x1D, 0x23, 0x30)
MUTED = (0x5B, 0x64, 0x75)
ACCENT = (0xC2, 0x41, 0x0C)
LINE = (0xC9, 0xCE, 0xD8)
PT = 25.4 / 72  # one point in mm

# PDFium is not thread-safe: one rendering at a time in a process.
_pdfium_lock = threading.Lock()


@dataclass
class PosterSpec:
    """What one poster says: a drive, or one of its locations or recruiters."""

    title_hi: str  # e.g. drive name in Hindi
    title_en: str
    subtitle_hi: str  # e.g. "लखनऊ विश्वविद्यालय — स्कैन करें और जुड़ें"
    subtitle_en: str
    code: str  # shown big under the QR
    url: str  # encoded in the QR
    org_name: str = ""  # optional organisation name line


def poster_pdf(spec: PosterSpec) -> bytes:
    """One A4 page: the poster for one drive (or one location or recruiter of it)."""
    return posters_pdf([spec])


def posters_pdf(specs: list[PosterSpec]) -> bytes:
    """Many posters in one PDF, one A4 page each, e.g. one per location of a drive."""
    if not specs:
        raise ValueError("posters_pdf needs at least one poster")
    pdf = _new_pdf(specs[0].title_en if specs else "")
    for spec in specs:
        _draw_poster(pdf, spec)
    return bytes(pdf.output(output_producer_class=_OutputProducer))


def poster_png(spec: PosterSpec, dpi: int = 150) -> bytes:
    """The same poster as a PNG: the PDF page rasterised at `dpi`."""
    data = poster_pdf(spec)
    with _pdfium_lock:
        document = pypdfium2.PdfDocument(data)
        try:
            page = document[0]
            image = page.render(scale=dpi / 72, may_draw_forms=False).to_pil()
            page.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", dpi=(dpi, dpi), optimize=True)
    return out.getvalue()


def notice_lines() -> tuple[str, str]:
    """The consent notice as (Hindi, English), from the translation catalogue."""
    return _in_language("hi"), _in_language("en")


def _in_language(language: str) -> str:
    with translation.override(language):
        return f"{gettext(VOLUNTARY_NOTICE)} {gettext(AGE_NOTICE)}"


def _new_pdf(title: str) -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.c_margin = 0
    for style, name in FONT_FILES.items():
        pdf.add_font(FONT_FAMILY, style, str(FONT_DIR / name))
    # HarfBuzz guesses the script of each run, so the same setting shapes Hindi and English.
    pdf.set_text_shaping(True)
    pdf.set_lang("hi")
    pdf.set_title(title)
    pdf.set_creator("Sangathan")
    return pdf


def _draw_poster(pdf: FPDF, spec: PosterSpec) -> None:
    pdf.add_page()
    notice_hi, notice_en = notice_lines()

    # Text blocks above and below the QR, each fitted to the width (shrunk, then wrapped).
    top = [
        _Block(pdf, spec.title_hi, "B", 40, 26, 2, INK, 1.45),
        _Block(pdf, spec.title_en, "B", 26, 18, 2, INK, 1.3),
        _Block(pdf, spec.subtitle_hi, "", 18, 13, 2, INK, 1.5, gap_before=4),
        _Block(pdf, spec.subtitle_en, "", 15, 11, 2, MUTED, 1.35),
    ]
    top = [b for b in top if b.text]
    code = _Block(pdf, spec.code, "B", 44, 28, 1, ACCENT, 1.2, spacing=1.5)
    url = _Block(pdf, spec.url, "", 11, 7, 2, MUTED, 1.3)
    notices = [
        _Block(pdf, notice_hi, "", 10.5, 8, 2, MUTED, 1.5),
        _Block(pdf, notice_en, "", 10, 7.5, 2, MUTED, 1.35),
    ]
    if notice_hi == notice_en:  # no Hindi catalogue compiled yet: don't print it twice
        notices = notices[1:]

    y = MARGIN
    if spec.org_name:
        pdf.set_fill_color(*BRAND)
        pdf.rect(0, 0, PAGE_W, BAND_H, style="F")
        org = _Block(pdf, spec.org_name, "B", 15, 10, 1, (255, 255, 255), 1.3)
        org.draw(pdf, (BAND_H - org.height) / 2)
        y = BAND_H + 9

    notice_h = sum(b.height for b in notices)
    footer_top = PAGE_H - 12 - notice_h
    text_h = sum(b.height for b in top) + code.height + url.height
    gaps = 8 + 6 + 3  # title → QR, QR → code, code → url
    qr_side = max(QR_MIN, min(QR_MAX, footer_top - 8 - y - text_h - gaps))

    for block in top:
        y = block.draw(pdf, y)
    # What is left is shared out: the QR sits in the middle of the space between.
    slack = footer_top - 8 - y - (qr_side + code.height + url.height + gaps)
    y += 8 + max(0, slack) / 2
    _draw_qr(pdf, spec.url, (PAGE_W - qr_side) / 2, y, qr_side)
    y += qr_side + 6
    y = code.draw(pdf, y) + 3
    url.draw(pdf, y)

    pdf.set_draw_color(*LINE)
    pdf.set_line_width(0.3)
    pdf.line(MARGIN, footer_top - 3, PAGE_W - MARGIN, footer_top - 3)
    y = footer_top
    for block in notices:
        y = block.draw(pdf, y)


class _Block:
    """A centred run of text, set at the largest size from `size` down to `min_size` at which
    it fits in `max_lines` lines (at `min_size` it takes as many lines as it needs)."""

    def __init__(
        self,
        pdf: FPDF,
        text: str,
        style: str,
        size: float,
        min_size: float,
        max_lines: int,
        color: tuple[int, int, int],
        leading: float,
        gap_before: float = 0,
        spacing: float = 0,
    ):
        self.text = " ".join(text.split())
        self.style, self.color, self.spacing, self.gap_before = style, color, spacing, gap_before
        pdf.set_font(FONT_FAMILY, style, size)
        pdf.set_char_spacing(spacing)
        while size > min_size:
            # Single words that are too wide shrink too: never break a word or a code.
            if (
                len(self._lines(pdf)) <= max_lines
                and pdf.get_string_width(max(self.text.split() or [""], key=len)) <= CONTENT_W
            ):
                break
            size = max(min_size, size - 1)
            pdf.set_font(FONT_FAMILY, style, size)
        self.size = size
        self.line_h = size * PT * leading
        self.height = gap_before + self.line_h * (len(self._lines(pdf)) if self.text else 0)
        pdf.set_char_spacing(0)

    def _lines(self, pdf: FPDF) -> list[str]:
        return pdf.multi_cell(CONTENT_W, text=self.text, align="C", dry_run=True, output="LINES")

    def draw(self, pdf: FPDF, y: float) -> float:
        """Draw at top `y`; return the y below the block."""
        if not self.text:
            return y
        pdf.set_font(FONT_FAMILY, self.style, self.size)
        pdf.set_char_spacing(self.spacing)
        pdf.set_text_color(*self.color)
        pdf.set_xy(MARGIN, y + self.gap_before)
        pdf.multi_cell(CONTENT_W, self.line_h, text=self.text, align="C")
        pdf.set_char_spacing(0)
        return y + self.height


def qr_matrix(url: str) -> list[list[bool]]:
    """The QR code's modules, without the quiet zone (True = dark)."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.get_matrix()


def _draw_qr(pdf: FPDF, url: str, x: float, y: float, side: float) -> None:
    """The QR code as one vector path: each row's runs of dark modules are rectangles of a
    single fill, so no hairline seams appear between neighbouring modules when rasterised.
    The page around it is white, which is the quiet zone."""
    matrix = qr_matrix(url)
    module = side / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    with pdf.new_path(paint_rule=PathPaintRule.FILL_NONZERO) as path:
        path.style.fill_color = "#000000"
        path.style.stroke_color = None
        for row, cells in enumerate(matrix):
            col = 0
            while col < len(cells):
                if not cells[col]:
                    col += 1
                    continue
                start = col
                while col < len(cells) and cells[col]:
                    col += 1
                path.rectangle(x + start * module, y + row * module, (col - start) * module, module)


class _OutputProducer(OutputProducer):
    """fpdf2's output, with Hindi that copies and searches as the text it was made from.

    When HarfBuzz turns one cluster into several glyphs (ि + व for "वि", a reph र् + ष for
    "र्ष"), fpdf2 gives the cluster's text to the first glyph and leaves the others out of the
    ToUnicode map, so PDF readers fall back to their raw glyph codes and copy control
    characters ("वि\x10श्व"). Mapping those glyphs to the empty string makes them add nothing.
    """

    def _add_pdf_obj(self, pdf_obj, trace_label=None):
        if isinstance(pdf_obj, PDFContentStream) and trace_label == "fonts":
            self._add_silent_glyphs(pdf_obj)
        return super()._add_pdf_obj(pdf_obj, trace_label)

    def _add_silent_glyphs(self, stream: PDFContentStream) -> None:
        cmap = stream.content_stream()
        if b"/Adobe-Identity-UCS" not in cmap or stream.filter is not None:
            return
        mapped = {int(cid, 16) for cid in re.findall(rb"^<([0-9A-F]{4})> <", cmap, re.M)}
        for font in self.fpdf.fonts.values():
            if not isinstance(font, TTFFont):
                continue
            with_text, silent = set(), []
            for glyph, cid in font.subset.items():
                if glyph is None or not isinstance(glyph.unicode, tuple):
                    continue
                (with_text.add if glyph.unicode else silent.append)(cid)
            if with_text == mapped and silent:
                entries = "".join(f"<{cid:04X}> <>\n" for cid in sorted(silent))
                block = f"{len(silent)} beginbfchar\n{entries}endbfchar\nendcmap".encode()
                # In place: the font dictionary already points at this stream object.
                stream._contents = cmap.replace(b"endcmap", block, 1)
                stream.length = len(stream._contents)
                return
