"""Labelled enums: the code stored in the database and the words people read, declared together."""

import pytest

from auditapp.accounts.models import ROLE_LABELS, Role
from auditapp.capa.models import NC_STATUS_LABELS, ActionStatus, NCStatus
from auditapp.checklists.models import RESULT_LABELS, Result
from auditapp.core.enums import LabelledEnum


def test_a_member_is_its_code_and_carries_its_label():
    assert Result("minor_nc") is Result.MINOR_NC and Result.MINOR_NC == "minor_nc"
    assert Result.MINOR_NC.label == "Minor NC" and Role.AUDITOR.label == "Internal auditor"
    assert f"{ActionStatus.CANCELLED}" == "cancelled" and ActionStatus.CANCELLED.label == "Cancelled"


@pytest.mark.parametrize("enum, labels", [(Result, RESULT_LABELS), (Role, ROLE_LABELS), (NCStatus, NC_STATUS_LABELS)])
def test_label_tables_come_from_the_enum(enum, labels):
    assert list(labels) == [m.value for m in enum]
    assert all(labels[m] == m.label for m in enum)  # looked up by member or by code alike


def test_a_member_without_a_label_reads_its_code():
    class Colour(LabelledEnum):
        DARK_BLUE = "dark_blue"

    assert Colour.DARK_BLUE.label == "Dark blue"
    with pytest.raises(ValueError):
        Colour("light_blue")
