"""Checklist files for tests: a valid YAML checklist to load, or to break one field at a time."""

VALID = """\
id: floor
title: Floor walk
version: 1
standard: ISO 9001:2015
description: A short walk.
sections:
  - clause: "8.5"
    title: Production and service provision
    items:
      - id: 8.5.2-traceability
        clause: "8.5.2"
        question: Are outputs traceable to their work order?
        guidance: Sample three parts.
        evidence: [part label, routing card]
        photo: required_on_nc
        results: [conform, minor_nc, major_nc, observation, ofi, na]
      - id: 8.5.1-instructions
        clause: "8.5.1"
        question: Are work instructions at the point of use?
"""
