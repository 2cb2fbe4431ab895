"""A4 QR posters: real A4 PDF pages with selectable, correctly shaped Hindi, a vector QR that
scans to the join URL, and the same poster as a PNG."""

import io
import re
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import uharfbuzz
import zxingcpp
from fontTools.ttLib import TTFont
from PIL import Image

from sangathan.drives import posters
from sangathan.drives.posters import FONT_DIR, PosterSpec, poster_pdf, poster_png, posters_pdf

SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
A4_PT = (595.28, 841.89)
REGULAR = FONT_DIR / "NotoSansDevanagari-Regular.ttf"


def make_spec(**kw) -> PosterSpec:
    values = dict(
        title_hi="सदस्यता अभियान — लखनऊ विश्वविद्यालय",
        title_en="Membership drive — Lucknow University",
        subtitle_hi="लखनऊ विश्वविद्यालय — स्कैन करें और जुड़ें",
        subtitle_en="Lucknow University — scan and join",
        code="K7M2QX9P",
        url="https://sangathan.example.org/join/K7M2QX9P",
        org_name="जन सेवा संगठन · Jan Seva Sangathan",
    )
    values.update(kw)
    return PosterSpec(**values)


def read(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def qr_codes(png: bytes):
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def test_it_makes_one_a4_page():
    pdf = read(poster_pdf(make_spec()))
    assert len(pdf.pages) == 1
    box = pdf.pages[0].mediabox
    assert (float(box.left), float(box.bottom)) == (0, 0)
    assert float(box.width) == pytest.approx(A4_PT[0], abs=0.5)
    assert float(box.height) == pytest.approx(A4_PT[1], abs=0.5)


def test_the_code_titles_and_url_are_text():
    text = read(poster_pdf(make_spec())).pages[0].extract_text()
    lines = " ".join(text.split())
    assert "K7M2QX9P" in lines
    assert "Membership drive — Lucknow University" in lines
    assert "Lucknow University — scan and join" in lines
    assert "https://sangathan.example.org/join/K7M2QX9P" in lines
    assert "Jan Seva Sangathan" in lines
    assert "Joining is voluntary; you choose which messages you get." in lines
    assert "Only for people aged 18 or over." in lines


def test_hindi_copies_as_the_text_it_was_made_from():
    # The pre-base matra and the conjuncts are glyphs out of logical order; the ToUnicode map
    # must still give back "विश्वविद्यालय", not the glyph codes of the extra glyphs.
    text = read(poster_pdf(make_spec())).pages[0].extract_text()
    assert "विश्वविद्यालय" in text
    assert "सदस्यता अभियान" in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", text)


def test_the_consent_notice_is_printed_in_both_languages(monkeypatch):
    monkeypatch.setattr(
        posters, "notice_lines", lambda: ("जुड़ना स्वैच्छिक है।", "Joining is voluntary.")
    )
    text = read(poster_pdf(make_spec())).pages[0].extract_text()
    assert "जुड़ना स्वैच्छिक है।" in text
    assert "Joining is voluntary." in text


def test_the_font_is_embedded():
    page = read(poster_pdf(make_spec())).pages[0]
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert fonts
    for font in fonts:
        assert "NotoSansDevanagari" in font["/BaseFont"]
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
        assert descriptor["/FontFile2"].get_object().get_data()[:4] == b"\x00\x01\x00\x00"


def test_the_qr_is_vector_not_an_image():
    page = read(poster_pdf(make_spec())).pages[0]
    assert list(page.images) == []


def test_the_pdf_page_scans_to_the_url():
    document = pypdfium2.PdfDocument(poster_pdf(make_spec()))
    image = document[0].render(scale=100 / 72).to_pil()
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [make_spec().url]


def test_many_posters_one_page_each():
    specs = [make_spec(code=c, url=f"https://x.example/join/{c}") for c in ("AAA111", "BBB222")]
    specs.append(make_spec(code="CCC333", url="https://x.example/join/CCC333", org_name=""))
    pdf = read(posters_pdf(specs))
    assert len(pdf.pages) == 3
    for page, spec in zip(pdf.pages, specs, strict=True):
        assert float(page.mediabox.width) == pytest.approx(A4_PT[0], abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(A4_PT[1], abs=0.5)
        assert spec.code in page.extract_text()
        assert (spec.org_name == "") == ("Jan Seva" not in page.extract_text())


def test_no_posters_is_an_error_not_a_blank_page():
    with pytest.raises(ValueError):
        posters_pdf([])


@pytest.mark.parametrize("dpi", [100, 150])
def test_the_png_is_a4_at_the_dpi(dpi):
    image = Image.open(io.BytesIO(poster_png(make_spec(), dpi=dpi)))
    assert image.format == "PNG"
    assert image.size[0] == pytest.approx(210 / 25.4 * dpi, abs=1.5)
    assert image.size[1] == pytest.approx(297 / 25.4 * dpi, abs=1.5)
    assert image.info["dpi"][0] == pytest.approx(dpi, abs=0.1)  # stored per metre


def test_the_png_qr_decodes_to_the_url_and_is_at_least_9_cm():
    dpi = 100
    codes = qr_codes(poster_png(make_spec(), dpi=dpi))
    assert [c.text for c in codes] == ["https://sangathan.example.org/join/K7M2QX9P"]
    corners = codes[0].position
    side_mm = (corners.top_right.x - corners.top_left.x) / dpi * 25.4
    assert side_mm >= 90


def test_long_texts_stay_on_the_page_and_the_qr_keeps_its_size():
    spec = make_spec(
        title_hi="राष्ट्रीय युवा सदस्यता महाअभियान — लखनऊ विश्वविद्यालय, छात्र संघ भवन के सामने",
        title_en="National youth membership drive — Lucknow University, in front of the "
        "students' union building",
        subtitle_hi="हर शनिवार और रविवार सुबह दस बजे से शाम छह बजे तक — स्कैन करें और जुड़ें, "
        "अपने साथियों को भी साथ लाएँ",
        subtitle_en="Every Saturday and Sunday from ten in the morning to six in the evening — "
        "scan and join, bring your friends along",
        url="https://sangathan.example.org/join/K7M2QX9P?utm_source=poster&utm_medium=print",
    )
    document = pypdfium2.PdfDocument(poster_pdf(spec))
    page = document[0]
    width, height = page.get_size()
    textpage = page.get_textpage()
    for i in range(textpage.count_chars()):
        left, bottom, right, top = textpage.get_charbox(i)
        if right > left:  # spaces and line breaks have no box
            assert 0 <= left and right <= width and 0 <= bottom and top <= height
    image = page.render(scale=100 / 72).to_pil()
    codes = zxingcpp.read_barcodes(image)
    assert [c.text for c in codes] == [spec.url]
    assert (codes[0].position.top_right.x - codes[0].position.top_left.x) / 100 * 25.4 >= 90


def test_devanagari_is_shaped_not_mapped_codepoint_by_codepoint():
    word = "विश्वविद्यालय"
    font_data = REGULAR.read_bytes()
    font = uharfbuzz.Font(uharfbuzz.Face(font_data))
    buf = uharfbuzz.Buffer()
    buf.add_str(word)
    buf.guess_segment_properties()
    uharfbuzz.shape(font, buf, {})
    cmap = TTFont(io.BytesIO(font_data)).getBestCmap()
    names = TTFont(io.BytesIO(font_data)).getGlyphOrder()
    shaped = [names[g.codepoint] for g in buf.glyph_infos]
    naive = [cmap[ord(c)] for c in word]
    assert shaped != naive
    # ि comes first, before व; श्व and द्य are single conjunct glyphs
    assert shaped[0].startswith("uni093F")
    assert shaped[1] == cmap[ord("व")]
    assert len(shaped) < len(naive)


def test_the_pdf_uses_the_shaped_glyphs():
    # The ToUnicode map has one entry per glyph; a conjunct glyph maps to several characters.
    page = read(poster_pdf(make_spec())).pages[0]
    maps = b"".join(
        f.get_object()["/ToUnicode"].get_object().get_data()
        for f in page["/Resources"]["/Font"].values()
    )
    assert b"<0936094D0935>" in maps  # श्व
    assert b"<0926094D092F>" in maps  # द्य
    assert re.search(rb"<[0-9A-F]{4}> <0935093F>", maps)  # वि: the i-matra glyph leads


def test_sample_poster_screenshot():
    """Renders the sample for a person to look at (tests/screenshots/poster_sample.png)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    png = poster_png(make_spec(), dpi=150)
    (SCREENSHOTS / "poster_sample.png").write_bytes(png)
    (SCREENSHOTS / "poster_sample.pdf").write_bytes(poster_pdf(make_spec()))
    assert [c.text for c in qr_codes(png)] == [make_spec().url]
