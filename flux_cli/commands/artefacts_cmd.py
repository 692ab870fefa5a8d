"""``flux artefacts list/show/promote``: the artefact store and its aliases.

Only the store and the manifest model load here (no pandas, no scikit-learn), so listing is fast.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from flux_cli import console
from pipelines.io.artifact_store import ArtifactStore
from pipelines.io.artifacts import open_artifacts
from pipelines.settings import Settings


def _store(settings: Settings) -> ArtifactStore:
    return open_artifacts(settings)


def list_command(settings: Settings, *, as_json: bool) -> None:
    """Lists the artefacts, newest first, with their aliases."""
    store = _store(settings)
    aliases: dict[str, list[str]] = {}
    for name, target in store.aliases().items():
        aliases.setdefault(target, []).append(name)
    items = store.list_artifacts()
    if as_json:
        console.print_json(
            [
                {
                    "artifact_id": m.artifact_id,
                    "aliases": aliases.get(m.artifact_id, []),
                    "target": m.target,
                    "created_at": m.created_at.isoformat(),
                    "trained_on": m.trained_on,
                    "restaurants": len(m.restaurants),
                }
                for m in items
            ]
        )
        return
    table = Table(
        title=f"Artefacts in {escape(settings.resolved_artifacts_uri)}", title_justify="left"
    )
    for col in ("id", "aliases", "target", "horizon", "restaurants", "trained", "created"):
        table.add_column(col)
    for m in items:
        table.add_row(
            m.artifact_id,
            ",".join(aliases.get(m.artifact_id, [])),
            escape(m.target),
            str(m.horizon),
            str(len(m.restaurants)),
            m.trained_on,
            m.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.out.print(table)
    if not items:
        console.note("no artefacts yet: `flux train` makes one")


def show_command(settings: Settings, ref: str) -> None:
    """Prints an artefact's manifest as JSON."""
    store = _store(settings)
    console.print_json(store.read_manifest(store.resolve(ref)).model_dump(mode="json"))


def promote_command(settings: Settings, ref: str, alias: str | None) -> None:
    """Points ``alias`` (default ``production``) at an artefact."""
    from pipelines.publish import PRODUCTION

    store = _store(settings)
    artifact_id = store.resolve(ref)
    name = alias or PRODUCTION
    store.set_alias(name, artifact_id)
    console.out.print(f"alias {name} -> {artifact_id}", markup=False)
