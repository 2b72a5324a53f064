"""Photos for tests: a JPEG made in memory, and the upload of files to an item."""

from io import BytesIO

from PIL import Image

from .accounts import log_in
from .audits import HX, items_of


def jpeg(width=800, height=600, color=(200, 40, 40), gps=False) -> bytes:
    image = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated on the phone
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 22.0, 7.0), 3: "E", 4: (4.0, 53.0, 9.0)}
    out = BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def upload(client, audit, item, *files):
    data = {"item_id": str(item.id), "photo": [(BytesIO(content), name) for name, content in files]}
    return client.post(f"/audits/{audit.id}/photos", data=data, headers=HX, content_type="multipart/form-data")


def start(client, plan, make_user):
    lead = make_user("auditor")
    audit = plan(lead=lead)
    log_in(client, lead)
    return audit, items_of(audit)["7.1.5-gauges"]
