"""All of Flux's I/O: database, files, artefact store and cloud services.

Only this package imports sqlalchemy, psycopg, alembic, boto3 or botocore (an import-linter
contract checks it). Who owns what::

    db           engines, connections, capabilities, migrations; URL redaction
    schema       the tables (SQLAlchemy Core); migrations/ creates them
    series       demand series and calendars, as the models read them
    imports      flux import's database side: restaurants, batch records, loading a parsed file
    loader       bulk upserts (COPY on PostgreSQL)      rollups   the demand rollups
    runs         run records: train_runs, forecast_runs, job_runs, backtest_runs
    forecasts    forecast runs and rows; published forecasts
    inbox        the nightly S3 inbox and what was imported from it (source_objects)
    locks        run locks: PostgreSQL advisory locks, lock files beside SQLite
    artifacts    what an artefact holds: opening the store, shards, manifest assembly
    artifact_store, artifact_s3   the store itself: a folder, or S3
    sagemaker    training jobs: the channels, the job's life cycle, the hosts' models
    aws          the local AWS configuration (no network)
    files        atomic writes, hashing, reject files    reports   backtest outputs and plots
    adapters/    the POS and series importers
"""
