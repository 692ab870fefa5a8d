"""``flux train``: fit the ensemble into an artefact and say what was stored."""

from __future__ import annotations

from dataclasses import dataclass

from flux_cli import console
from flux_cli.progress import Reporter
from flux_cli.render import report_left_out
from pipelines import experiments, train
from pipelines.errors import UsageError
from pipelines.settings import Settings


@dataclass(frozen=True)
class TrainOptions:
    """The options of ``flux train``, as typed values."""

    target: str = "covers"
    horizon: int = 28
    restaurants: list[str] | None = None
    backend: str = "local"
    jobs: int = 1
    seed: int = 0
    sets: list[str] | None = None
    like: str | None = None
    alias: str | None = None
    as_json: bool = False

    @property
    def effective_alias(self) -> str | None:
        """The alias to move: ``--alias``, else ``candidate`` (none for a restaurant run)."""
        if self.alias is None and not self.restaurants:
            return "candidate"
        return self.alias

    def request(self, settings: Settings) -> train.TrainRequest:
        """The pipeline's request, with the model spec from flux.toml and ``--set`` (or, with
        ``--like``, the backtest run's, read by the pipeline).

        Raises:
            UsageError: ``--like`` with ``--set`` (the run's spec is trained as it was scored).
        """
        if self.like and self.sets:
            raise UsageError(
                "--like trains the backtest run's spec exactly as it was scored; drop --set "
                "(or backtest the changed spec and train that run)"
            )
        return train.TrainRequest(
            target=self.target,
            spec=experiments.model_spec(
                settings, self.sets or (), horizon=self.horizon, seed=self.seed
            ),
            like=self.like,
            restaurants=frozenset(self.restaurants) if self.restaurants else None,
            backend="sagemaker" if self.backend == "sagemaker" else "local",
            jobs=self.jobs,
            alias=self.effective_alias,
        )


def train_command(settings: Settings, options: TrainOptions) -> None:
    """Trains and prints the stored artefact."""
    with Reporter("train", enabled=not options.as_json) as progress:
        result = train.run(options.request(settings), settings, progress)
    m = result.manifest
    if options.as_json:
        console.print_json(
            {
                "artifact_id": result.artifact_id,
                "failed": result.failed,
                "left_out": result.left_out,
                "seconds": result.seconds,
                "manifest": m.model_dump(mode="json"),
            }
        )
        return
    alias = options.effective_alias
    console.out.print(
        f"trained artefact {result.artifact_id} ({m.trained_on}): {m.target}, horizon "
        f"{m.horizon}, {len(m.restaurants)} restaurant(s), data {m.training_start.date()} to "
        f"{m.training_end.date()}, weights {m.weights.get('chosen')} in {result.seconds:.1f}s"
        + (f"; alias {alias}" if alias else ""),
        markup=False,
    )
    for rid, reason in sorted(result.failed.items()):
        console.warn(f"{rid}: not modelled ({reason})", restaurant=rid, reason=reason)
    report_left_out(result.left_out, "training")
