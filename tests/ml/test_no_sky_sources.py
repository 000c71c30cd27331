"""Training sees images labelled "no sky" (issue 19): project_sources takes every image
that AnnotationSet.is_labelled says is labelled, a flagged image without annotations as
an all-zero mask; an image merely listed in labels.json stays out."""

from __future__ import annotations

import numpy as np

from skysegui.core.annotations import LABELLED_KEY
from skysegui.core.synthetic import write_demo_project
from skysegui.ml.data import project_cache, project_sources


def test_a_flagged_no_sky_image_is_a_training_image_with_an_all_zero_mask(tmp_path):
    project = write_demo_project(tmp_path / "p", count=3, width=128, height=64, labelled=1, seed=3)
    labels = project.load_labels().labels  # lists every image of the folder
    paths = project.image_paths()
    ids = {p.name: labels.image_by_name(p.name).id for p in paths}
    with_sky = [p for p in paths if labels.annotations_for(ids[p.name])]
    without = [p for p in paths if not labels.annotations_for(ids[p.name])]
    assert len(with_sky) == 1 and len(without) == 2
    flagged, listed = without
    labels.images[ids[flagged.name]].extra[LABELLED_KEY] = True
    project.save_labels(labels)

    sources, _ = project_sources(project, "hdr_log")
    names = {s.name for s in sources}
    assert names == {with_sky[0].stem, flagged.stem}  # `listed` has no labels: not taken
    negative = next(s for s in sources if s.name == flagged.stem)
    x, mask = negative.load()
    assert x.shape == (64, 128, 3) and mask.shape == (64, 128)
    assert mask.dtype == np.uint8 and not mask.any()

    cache, _ = project_cache(project, "hdr_log")
    assert sorted(cache.names) == sorted(names)
    i = cache.names.index(flagged.stem)
    assert not np.asarray(cache.arrays(i)[1]).any()
    assert project_cache(project, "hdr_log")[0].rebuilt == 0

    # the flag taken away: the image leaves the training set again
    labels = project.load_labels().labels
    del labels.images[ids[flagged.name]].extra[LABELLED_KEY]
    project.save_labels(labels)
    assert {s.name for s in project_sources(project, "hdr_log")[0]} == {with_sky[0].stem}
