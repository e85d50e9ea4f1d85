"""A training run's directory: `output_dir` holds the checkpoints and the trained adapter (or model), and
`output_dir/run/` its record — enough to reproduce or compare runs:

    record.json         status, attempts (each with its gate decision and result), data hashes, metrics
    config.yml          the config as launched          facts.json        the machine's facts snapshot
    requirements.lock   the installed versions, pinned  gate.json         the gate's decision and evidence
    job.json            what the processes were told    accelerate.yaml   the generated launcher settings
    train.log           everything the processes printed (kept whatever happens)
    metrics.jsonl       one line per logged step        runtime.json      what actually ran (world, wrapper)
    result.json         the worker's final word
"""
