"""Citizen impact survey results: aggregated answers per city-year, kept as versions.

An import stores, per surveyed programme, its respondent and answer counts and the sum of the
answers (per question too), never a respondent's row: the survey tools' exports carry
timestamps and sometimes contact details that the product has no reason to keep. The upload in
force for a city-year is the newest; earlier ones stay, like superseded submissions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from metrics.records import SurveyProgramme, SurveyQuestion, SurveyUpload
from metrics.store.connection import Connection, Cursor, scalar, utcnow

_PROGRAMME_COLUMNS = ("upload_id", "programme_code", "respondents", "answers", "answer_sum", "owner_opd")
_QUESTION_COLUMNS = ("upload_id", "programme_code", "question", "answers", "answer_sum")


class Surveys(Connection):
    """Survey results (survey_uploads, survey_programmes, survey_questions) and the remembered
    column mapping per city (survey_mappings)."""

    def insert_survey(
        self,
        cur: Cursor,
        city: str,
        year: int,
        results: Sequence[SurveyProgramme],
        username: str,
        *,
        file_name: str | None,
        sha256: str | None,
        source: str,
        n_rows: int,
        mapping: str | None,
    ) -> int:
        """Store one survey import for the city-year (it supersedes the one in force); its id."""
        uid = int(scalar(cur, "SELECT nextval('survey_upload_seq')"))
        cur.execute(
            "INSERT INTO survey_uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [uid, city, year, file_name, sha256, username, utcnow(), source, n_rows, mapping],
        )
        if results:
            self.append_rows(
                cur,
                "survey_programmes",
                _PROGRAMME_COLUMNS,
                [
                    [uid, r.programme_code, r.respondents, r.answers, r.answer_sum, r.owner_opd]
                    for r in results
                ],
            )
        questions = [
            [uid, r.programme_code, q.question, q.answers, q.answer_sum] for r in results for q in r.questions
        ]
        if questions:
            self.append_rows(cur, "survey_questions", _QUESTION_COLUMNS, questions)
        self.mark_finished_scores_stale(cur, {city})
        return uid

    def survey_uploads(self, city: str, year: int | None = None) -> list[SurveyUpload]:
        """The city's survey imports (of `year`, or every year), newest first."""
        with self.cursor() as cur:
            rows = cur.execute(
                """SELECT id, city_code, year, file_name, sha256, username, accepted_at, source, n_rows, mapping
                   FROM survey_uploads WHERE city_code = ? AND (? IS NULL OR year = ?) ORDER BY id DESC""",
                [city, year, year],
            ).fetchall()
        return [SurveyUpload(*r) for r in rows]

    def survey_results(self, upload_id: int) -> list[SurveyProgramme]:
        """The aggregated results of one survey import, by programme code."""
        with self.cursor() as cur:
            questions: dict[str, list[SurveyQuestion]] = defaultdict(list)
            for code, question, answers, answer_sum in cur.execute(
                """SELECT programme_code, question, answers, answer_sum FROM survey_questions
                   WHERE upload_id = ? ORDER BY programme_code, question""",
                [upload_id],
            ).fetchall():
                questions[code].append(SurveyQuestion(question, int(answers), float(answer_sum)))
            rows = cur.execute(
                """SELECT programme_code, respondents, answers, answer_sum, owner_opd FROM survey_programmes
                   WHERE upload_id = ? ORDER BY programme_code""",
                [upload_id],
            ).fetchall()
        return [
            SurveyProgramme(code, int(n), int(a), float(s), opd, tuple(questions.get(code, ())))
            for code, n, a, s, opd in rows
        ]

    def survey_in_force(self, city: str, year: int) -> tuple[SurveyUpload, list[SurveyProgramme]] | None:
        """The city-year's survey import in force with its results (None: none imported)."""
        uploads = self.survey_uploads(city, year)
        return (uploads[0], self.survey_results(uploads[0].id)) if uploads else None

    def survey_mapping(self, city: str) -> str | None:
        """The column mapping last used for the city's survey imports, as JSON (None: none yet)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT mapping FROM survey_mappings WHERE city_code = ?", [city]).fetchone()
        return str(row[0]) if row else None

    def set_survey_mapping(self, cur: Cursor, city: str, mapping: str, username: str) -> None:
        cur.execute(
            """INSERT INTO survey_mappings VALUES (?, ?, ?, ?) ON CONFLICT (city_code) DO UPDATE
               SET mapping = excluded.mapping, updated_at = excluded.updated_at, updated_by = excluded.updated_by""",
            [city, mapping, utcnow(), username],
        )
