"""Attributions for a whole dataset on as many processes as there are: ``torchrun`` shards the items.

    python -m iglib.apps.at_scale --images FOLDER --out OUT [--attribution-method ig --steps 32 --baseline black --target top1]
    python -m iglib.apps.at_scale --questions heldout --out OUT [--steps 16 --target predicted]
    torchrun --nproc_per_node=N -m iglib.apps.at_scale ...   (the same flags; one process per CPU share or GPU)

or from Python, as notebook 08 does::

    config = at_scale.image_config(folder, steps=300, output="probability")   # checked
    at_scale.run(config, out, chunk=1, items=[...])
    result = at_scale.load(out)

Per item (an image of the folder, or a held-out question) a run stores the attribution, the
explained class, F(x) - F(x') and the completeness error delta, in shard files that an interrupted
run leaves whole and a rerun skips.

A package, one job per module: the library apart from the command line, which only reads flags
into the library's checked configuration. ``python -m`` runs ``__main__``, which imports the
command line, which imports the library; a single module could not run a command line kept in
another module without the two importing each other. This face re-exports the library, so
``at_scale.run(...)`` reads as it always has.

- :mod:`.config`: the configuration (:func:`image_config`, :func:`question_config`) and every check
  of a run's arguments, with :mod:`iglib.arguments`' helpers;
- :mod:`.sources`: the items and how they are attributed (:class:`Images`, :class:`Questions`);
- :mod:`.results`: shard files, ``index.pt``, :func:`load` and :func:`summary`;
- :mod:`.sharding`: chunks dealt to the ranks, and :func:`run`;
- :mod:`.cli`: the flags (:func:`~.cli.parse_args`, :func:`~.cli.main`); ``__main__`` runs it.
"""
from .config import (ATTRIBUTION_METHODS, BASELINES, HIGH, IMAGE_SUFFIXES, LOW, OUTPUTS, QUESTION_SPLITS, SAMPLING,
                     chosen, default_checkpoint, image_config, list_images, question_config, run_options)
from .results import (FORMAT, INDEX, SHARD, Attributions, Results, done_items, load, relative_errors, shard_files,
                      summary, write_index, write_shard)
from .sharding import assigned, chunks, run, setup_distributed
from .sources import Images, Questions, attribute_image

__all__ = [
    "ATTRIBUTION_METHODS", "BASELINES", "FORMAT", "HIGH", "IMAGE_SUFFIXES", "INDEX", "LOW", "OUTPUTS",
    "QUESTION_SPLITS", "SAMPLING", "SHARD", "Attributions", "Images", "Questions", "Results", "assigned",
    "attribute_image", "chosen", "chunks", "default_checkpoint", "done_items", "image_config", "list_images", "load",
    "question_config", "relative_errors", "run", "run_options", "setup_distributed", "shard_files", "summary",
    "write_index", "write_shard",
]
