"""The open-data package of a published year: CSV and JSON of city, dimension, pillar and
indicator results, with a Frictionless `datapackage.json` that describes every column in
Indonesian and English and carries a licence. No personal data and no evidence files: only
published results."""

from __future__ import annotations
