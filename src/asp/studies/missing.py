"""Input the configuration names but this machine lacks: one protocol for every kind (a case
study's raw file, a study's source images). The plan leaves what needs it out of the report,
the workflow prints one "Not run" line per item at start-up, the report lists them, and the
targets that need them refuse with the same message."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Missing:
    what: str  # what is not run, e.g. "case study 'air'"
    files: tuple[str, ...]  # the files it needs
    searched: tuple[str, ...]  # the folders they were looked for in
    obtain: str  # what to do to get them
    leave_out: str  # how to leave it out of the config
    sha256: tuple[str, ...] = ()  # the files' expected checksums, where documented

    @property
    def message(self) -> str:
        checks = f" (expected sha256 {', '.join(self.sha256)})" if self.sha256 else ""
        return (
            f"{self.what} needs {', '.join(self.files)}, found in none of "
            f"{list(self.searched)}{checks}: {self.obtain}. Or {self.leave_out}."
        )

    def as_dict(self) -> dict:
        return asdict(self) | {"message": self.message}
