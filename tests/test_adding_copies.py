"""What audits.add_copy sends with a new copy of a repeating section (issue 15), so the screen treats it as one
of its sections from then on: its chip in the section list (after the previous copy's, with its counter and
score, which the out-of-band counters that follow then update) and, on a scored checklist, the score model with
the new copy's items (the phone scores an answer in it offline)."""

import json
import re

from .support.audits import HX
from .support.cell_walk import item_ids, station_id


def add_station(client, audit) -> str:
    response = client.post(f"/audits/{audit.id}/sections/{station_id(audit)}/copies", data={"name": ""}, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_new_copy_s_chip_comes_after_the_previous_copy_s(client, cell_audit):
    station = station_id(cell_audit)
    second = add_station(client, cell_audit)
    chip = re.search(
        r"<div hx-swap-oob=\"afterend:\.section-jump a\[href='#section-(\S+)'\]\">(.*?)</div>", second, re.S
    )
    assert chip and chip[1] == str(station)
    assert f'<a href="#section-{station}-2">' in chip[2] and "Station 2" in chip[2]
    assert f'<span id="sec-{station}-2" class="sec-count">0/2</span>' in chip[2]
    assert f'<span id="scr-{station}-2" class="sec-score">–</span>' in chip[2]
    # the counters sent out of band after it find it
    assert second.index(chip[0]) < second.index(f'<span id="sec-{station}-2" class="sec-count" hx-swap-oob="true">')
    third = add_station(client, cell_audit)
    assert f"<div hx-swap-oob=\"afterend:.section-jump a[href='#section-{station}-2']\">" in third
    assert f'<a href="#section-{station}-3">' in third


def test_the_score_model_sent_with_a_new_copy_scores_its_items_as_a_section_of_its_own(client, cell_audit):
    station, ids = station_id(cell_audit), item_ids(cell_audit)
    sent = re.search(r'<div hx-swap-oob="innerHTML:#score-model">(.*?)</div>', add_station(client, cell_audit), re.S)
    assert sent
    model = json.loads(sent[1])
    assert model["items"][f"{ids['guard']}-c2"][0] == f"{station}-2"
    assert model["items"][f"{ids['tags']}-c2"][0] == f"{station}-2"
    assert model["items"][str(ids["guard"])][0] == str(station)  # station 1's as before
    assert model["sections"][f"{station}-2"] == model["sections"][str(station)] == 3
    # the same model the page has when opened now
    page = client.get(f"/audits/{cell_audit.id}").get_data(as_text=True)
    assert json.loads(page.split('<script type="application/json" id="score-model">')[1].split("</script>")[0]) == model


def test_an_item_s_own_page_names_the_copy_it_belongs_to(client, cell_audit):
    station, guard = station_id(cell_audit), item_ids(cell_audit)["guard"]
    added = client.post(f"/audits/{cell_audit.id}/sections/{station}/copies", data={"name": "Press line"}, headers=HX)
    assert added.status_code == 200
    url = f"/audits/{cell_audit.id}/items/{guard}"
    second = client.get(f"{url}/copies/2").get_data(as_text=True)
    assert '<h1 class="copy-heading">Station 2 – Press line</h1>' in second
    assert re.search(r"<title>[^<]* · Station 2 – Press line", second)
    assert '<h1 class="copy-heading">Station 1</h1>' in client.get(url).get_data(as_text=True)
    clean = item_ids(cell_audit)["cell-clean"]  # a section that does not repeat names no copy
    assert "copy-heading" not in client.get(f"/audits/{cell_audit.id}/items/{clean}").get_data(as_text=True)
    assert "copy-heading" not in client.get(f"{url}/copies/2", headers=HX).get_data(as_text=True)  # the fragment
