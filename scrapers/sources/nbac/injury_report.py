"""nbac_injury_report: the official NBA injury report PDF published for one report time.

NBA.com publishes the report as a PDF on ak-static.cms.nba.com, hourly until 2025-12-22 and every
15 minutes from 2025-12-23 (the file name gained the minutes then). The PDF lands as the raw
artifact beside the parsed document, whose top level is the old platform's key for key
(`metadata`, `parsing_stats`, `records`); `metadata.minute` and `metadata.not_yet_submitted` (the
teams that have not filed yet) are additive, inside `metadata` so the top level stays exact.

A report with the table header but no player rows is `no_data` (a clean PDF that positively says
nobody is listed yet); a body that is not a PDF or has no report table is `structural`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from types import MappingProxyType
from typing import Any

from scrapers.core.errors import OptionError, ParseError
from scrapers.core.options import NowPart, ScraperOptions, option
from scrapers.core.outcome import Outcome
from scrapers.core.request import BodyKind, Page, Request
from scrapers.core.scraper import ParseContext, Parsed, Scraper
from scrapers.core.season import Season
from scrapers.sources.nbac import headers, validators
from scrapers.sources.nbac.injury_report_parser import (
    KNOWN_STATUSES,
    UNPARSED_SAMPLE_SIZE,
    InjuryReport,
    parse_injury_report,
)

URL_PREFIX = "https://ak-static.cms.nba.com/referee/injury/Injury-Report_"
# The first report date whose file name carries minutes (`_06_15PM` instead of `_06PM`).
QUARTER_HOUR_FROM = date(2025, 12, 23)

# The PDF is opened by following a link on official.nba.com: a top-level navigation, not the
# CORS fetch the DATA profile describes. Same browser identity, navigation fetch metadata.
PDF_HEADERS = MappingProxyType(
    {
        **{name: value for name, value in headers.DATA.items() if name != "Origin"},
        "Accept": (
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
            "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        ),
        "Referer": "https://official.nba.com/",
        "Sec-Fetch-Dest": "document",
        "Sec-Fetch-Mode": "navigate",
        "Sec-Fetch-Site": "same-site",
        "Sec-Fetch-User": "?1",
        "Upgrade-Insecure-Requests": "1",
    }
)


class InjuryReportOptions(ScraperOptions):
    game_date: date = option(
        "date", example="2024-01-15", required=True, aliases=("gamedate",), help="report date (Eastern)"
    )
    # NOW: the report slot that has begun, in Eastern time (the hourly workflow's job needs no hour).
    hour: int = option(
        "int",
        example="5",
        required=True,
        now=NowPart.HOUR12,
        help="report hour on a 12-hour clock (1-12); NOW: the current Eastern hour",
    )
    period: str = option(
        "choice",
        example="PM",
        required=True,
        now=NowPart.PERIOD,
        choices=(
            "AM",
            "PM",
        ),
        help="AM or PM of the hour; NOW: the current one",
    )
    minute: str = option(
        "choice",
        example="00",
        default="00",
        choices=(
            "00",
            "15",
            "30",
            "45",
        ),
        now=NowPart.QUARTER,
        help="quarter-hour report (from 2025-12-23; hourly before); NOW: the quarter hour begun",
    )


def hour24(opts: InjuryReportOptions) -> str:
    """Two digits, as the path segment: 12 AM is 00, 12 PM is 12, 5 PM is 17."""
    return f"{opts.hour % 12 + (12 if opts.period == 'PM' else 0):02d}"


def report_url(opts: InjuryReportOptions) -> str:
    slot = f"{opts.hour:02d}"
    if opts.game_date >= QUARTER_HOUR_FROM:
        slot += f"_{opts.minute}"
    return f"{URL_PREFIX}{opts.game_date.isoformat()}_{slot}{opts.period}.pdf"


class NbacInjuryReport(Scraper[InjuryReportOptions]):
    options_type = InjuryReportOptions
    validator = validators.injury_report
    date_option = "game_date"
    path_fields = frozenset({"hour24"})

    def check_options(self, opts: InjuryReportOptions) -> None:
        if not 1 <= opts.hour <= 12:
            raise OptionError("hour", f"{opts.hour} is not an hour of a 12-hour clock (1 to 12)", "5")
        # Before the switch only hourly files exist: a :15 request would be a certain 404/403.
        if opts.minute != "00" and opts.game_date < QUARTER_HOUR_FROM:
            raise OptionError(
                "minute",
                f"reports before {QUARTER_HOUR_FROM.isoformat()} are hourly; "
                f"{opts.game_date.isoformat()} has no :{opts.minute} report",
                "00",
            )

    def requests(self, opts: InjuryReportOptions) -> Sequence[Request]:
        return (Request(report_url(opts), headers=PDF_HEADERS, expect=BodyKind.PDF),)

    def parse(self, opts: InjuryReportOptions, pages: Sequence[Page], ctx: ParseContext) -> Parsed:
        page = _single_page(pages)
        path_values = {"hour24": hour24(opts)}
        if page.outcome is Outcome.NO_DATA:
            absent = f"ak-static.cms.nba.com answered HTTP {page.status} without a PDF for {_slot(opts)}"
            document = _document(opts, ctx, None, absent)
            return Parsed(document, record_count=0, no_data_reason=absent, path_values=path_values)
        report = parse_injury_report(page.body)
        if report.report_date is not None and report.report_date != opts.game_date:
            raise ParseError(
                f"the PDF is the report of {report.report_date.isoformat()}, "
                f"not of {opts.game_date.isoformat()}"
            )
        reason = _no_data_reason(opts, report)
        return Parsed(
            _document(opts, ctx, report, reason),
            record_count=len(report.records),
            no_data_reason=reason,
            path_values=path_values,
            raw_artifact=page.body,
        )


def _single_page(pages: Sequence[Page]) -> Page:
    if len(pages) != 1:
        raise ValueError(f"the injury report parses exactly one page, got {len(pages)}")
    return pages[0]


def _slot(opts: InjuryReportOptions) -> str:
    return f"{opts.game_date.isoformat()} {opts.hour}:{opts.minute} {opts.period}"


def _no_data_reason(opts: InjuryReportOptions, report: InjuryReport) -> str | None:
    if report.records:
        return None
    if report.unparsed_lines:
        # Rows we could not read are not evidence that nobody is listed.
        raise ParseError(
            f"the injury report has {len(report.unparsed_lines)} table lines but no readable player row "
            f"(first: {report.unparsed_lines[0]!r})"
        )
    if report.not_submitted:
        return (
            f"the injury report of {_slot(opts)} lists no players: all {len(report.not_submitted)} "
            "teams are NOT YET SUBMITTED"
        )
    return f"the injury report of {_slot(opts)} has its table header and no rows"


def _document(
    opts: InjuryReportOptions, ctx: ParseContext, report: InjuryReport | None, no_data_reason: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        # Compact date and unpadded hour: the values the old platform wrote from its options.
        "gamedate": opts.game_date.strftime("%Y%m%d"),
        "hour": str(opts.hour),
        "period": opts.period,
        "hour24": hour24(opts),
        "season": Season.of(opts.game_date).nba_format,
        "scrape_time": ctx.fetched_at.astimezone(UTC).strftime("%H-%M-%S"),
        "run_id": ctx.run_id,
        "is_empty_report": report is None or not report.records,
        # The path has no minute: four quarter-hour reports share one hour folder.
        "minute": opts.minute,
        "not_yet_submitted": [team.as_dict() for team in report.not_submitted] if report else [],
    }
    if no_data_reason:
        metadata["no_data_reason"] = no_data_reason
    records = [record.as_dict() for record in report.records] if report else []
    return {
        "metadata": metadata,
        "parsing_stats": _parsing_stats(report),
        "records": records,
    }


def _parsing_stats(report: InjuryReport | None) -> dict[str, Any]:
    records = report.records if report else ()
    confidences = [record.confidence for record in records]
    distribution: dict[str, int] = {}
    for confidence in confidences:
        bucket = f"{int(confidence * 10) * 10}%"
        distribution[bucket] = distribution.get(bucket, 0) + 1
    unparsed = report.unparsed_lines if report else ()
    return {
        "total_records": len(records),
        # An empty report is certain about being empty, as the old platform scored it.
        "overall_confidence": round(sum(confidences) / len(confidences), 3) if confidences else 1.0,
        "status_counts": {status: sum(r.status == status for r in records) for status in KNOWN_STATUSES},
        "confidence_distribution": distribution,
        "parsing_stats": {
            "total_lines": report.table_lines if report else 0,
            "player_lines": len(records),
            "merged_multiline": report.multiline_rows if report else 0,
            "unparsed_count": len(unparsed),
            # Always empty in the old documents too; kept so readers of the nested keys still work.
            "confidence_distribution": {},
        },
        "unparsed_lines_sample": list(unparsed[:UNPARSED_SAMPLE_SIZE]),
        "unknown_statuses": dict(report.unknown_statuses) if report else {},
        "unknown_teams": list(report.unknown_teams) if report else [],
        "not_yet_submitted_count": len(report.not_submitted) if report else 0,
        "page_count": report.page_count if report else 0,
    }
