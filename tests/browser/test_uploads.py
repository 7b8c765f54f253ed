"""File inputs in a real browser (static/js/uploads.js): a phone's large photo is made smaller,
upright, before it is sent; a file over the limits is said next to its input and the form is not
sent; each input says its limits."""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.pages import attachments, ticket_count

RED, BLUE = (220, 30, 30), (30, 30, 220)


@pytest.fixture(autouse=True)
def uploads_in_tmp(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")


def phone_photo(path: Path) -> Path:
    """A 4000 × 3000 JPEG of several MB as a phone stores it: on its side, with an EXIF
    orientation of 6 (turn it a quarter clockwise to see it). Stored, its left half is red and
    its right half blue; seen upright, red is on top."""
    picture = Image.new("RGB", (4000, 3000), BLUE)
    picture.paste(RED, (0, 0, 2000, 3000))
    noise = Image.effect_noise((4000, 3000), 60).convert("RGB")
    picture = Image.blend(picture, noise, 0.25)
    exif = Image.Exif()
    exif[0x0112] = 6
    picture.save(path, "JPEG", quality=90, exif=exif.tobytes())
    assert path.stat().st_size > 3 * 1024 * 1024
    return path


def near(colour: tuple, wanted: tuple) -> bool:
    return all(abs(a - b) < 60 for a, b in zip(colour[:3], wanted, strict=True))


def test_a_large_phone_photo_is_sent_smaller_and_upright(app, login, tmp_path):
    photo = phone_photo(tmp_path / "kitchen tap.jpeg")
    page = login("resident", phone=True)
    page.goto("/tickets/new")
    photos = page.get_by_label(re.compile("^Photos"))
    expect(page.locator("#photos-limits")).to_have_text(
        "Up to 10 files, 10 MB each; photos are made smaller before sending.")
    page.get_by_label("What is it about").fill("Kitchen tap leaking")
    photos.set_input_files(str(photo))
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()   # sent once the photo is ready
    expect(page.get_by_role("heading", level=1)).to_have_text("Kitchen tap leaking")

    ticket = int(re.search(r"/tickets/(\d+)$", page.url).group(1))
    [sent] = attachments(app, ticket)
    assert sent["name"] == "kitchen tap.jpg" and sent["type"] == "image/jpeg"
    assert sent["size"] < photo.stat().st_size / 2
    with Image.open(Path(app.config["UPLOAD_FOLDER"]) / sent["stored"]) as stored:
        assert stored.size == (1920, 2560)                 # upright, 2560 px on the longer side
        assert stored.getexif().get(0x0112, 1) == 1        # nothing left to turn
        assert near(stored.getpixel((960, 300)), RED)       # the stored left half, now on top
        assert near(stored.getpixel((960, 2260)), BLUE)
    screenshot(page, "uploads-photo-sent")


def test_a_file_over_10_mb_is_said_next_to_its_input_and_nothing_is_sent(app, login, tmp_path):
    pdf = tmp_path / "floor plan.pdf"
    pdf.write_bytes(b"%PDF-1.4\n" + bytes(random.Random(1).randbytes(11 * 1024 * 1024)))
    page = login("resident", phone=True)
    page.goto("/tickets/new")
    page.get_by_label("What is it about").fill("Kitchen tap leaking")
    photos = page.get_by_label(re.compile("^Photos"))
    photos.set_input_files(str(pdf))
    field = page.locator(".field", has=photos)
    expect(field.locator(".upload-note")).to_have_text(
        "floor plan.pdf is larger than 10 MB: choose a smaller file.")
    expect(photos).to_have_attribute("aria-invalid", "true")

    posted = []
    page.on("request", lambda request: posted.append(request.url)
            if request.method == "POST" else None)
    page.get_by_role("button", name="Submit").click()
    page.wait_for_timeout(500)
    assert posted == [] and ticket_count(app) == 0
    expect(photos).to_be_focused()
    screenshot(page, "uploads-too-large")

    # Put right (no file), it goes.
    photos.set_input_files([])
    expect(field.locator(".upload-note")).to_be_empty()
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    assert ticket_count(app) == 1


def test_more_than_10_files_are_said_at_once_in_chinese(login, tmp_path):
    files = []
    for n in range(11):
        path = tmp_path / f"plan-{n}.pdf"
        path.write_bytes(b"%PDF-1.4\n%%EOF\n")
        files.append(str(path))
    page = login("resident", phone=True)
    page.get_by_role("button", name="中文").click()
    page.wait_for_url("**/my/")
    page.goto("/tickets/new")
    photos = page.locator("#photos")
    expect(page.locator("#photos-limits")).to_have_text(
        "最多 10 个文件，每个不超过 10 MB；照片会先缩小再发送。")
    photos.set_input_files(files)
    expect(page.locator("#photos-upload")).to_have_text("一次最多上传 10 个文件。")


def test_the_finding_form_says_its_one_file(login):
    page = login("supervisor")
    page.goto("/assessment/findings/new")
    expect(page.locator("#photo-limits")).to_have_text(
        "One file, at most 10 MB; a photo is made smaller before sending.")
    assert page.locator("#photo").get_attribute("aria-describedby") == "photo-limits photo-upload"
