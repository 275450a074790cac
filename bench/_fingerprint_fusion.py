"""Fused classical + learned scores on FVC2002, chosen leave-one-database-out, and on the robustness sets.

Every pair is scored twice by the same MCC comparison: once on the learned (LEADER) templates, once on
the classical ones. A fusion rule maps the two raw scores to one. The candidates (``RULES``): learned
only, classical only, a weighted sum of the raw scores (w = 0.5 is the issue's plain sum), a weighted
sum of the calibrated scores (-10 log10 FMR, each extractor's impostor model fitted on the training
databases only: the sum of log-likelihoods of independent impostor tails) and the max of the
calibrated scores. For each held-out database the rule with the lowest mean all-pairs EER on the
other three is chosen (ties: the lower FNMR at FMR 0.1 %, then the earlier rule, learned only first),
and reported on the fourth. The robustness sets (bench/_fingerprint_robustness.py) use each
database's fold rule. Learned templates are the variants' cached detections restricted to the shipped
threshold and cap, at an explicit internal scale, so the rows do not move when the default does.
"""
from __future__ import annotations

import time
import numpy as np

from bench import _fingerprint_cache as cache
from bench import _fingerprint_calibration as calibration_fit
from bench import _fingerprint_robustness as robustness
from bench import _fingerprint_variants as variants
from bench._error_rates import eer, fnmr_at_fmr
from bench.common import median, row
from matcher import fingerprint as fp
from matcher.fingerprint import learned_parameters as L

FINGERS, IMPRESSIONS = 10, 8
WEIGHTS = tuple(round(0.1 * k, 1) for k in range(1, 10))
SCALES = (0.8, 0.9)
ROBUSTNESS_SETS = ("dry", "noise", "partial, uniform placement (60 % window)", "partial, on the print (60 % window)",
                   "sweep artefacts")


# ------------------------------------------------------------------------- scores

def protocol_pairs() -> dict[str, list]:
    """The pairs of bench/fingerprint.py's database_scores: genuine, FVC impostors, all-pairs impostors."""
    r = range(1, FINGERS + 1)
    k = range(1, IMPRESSIONS + 1)
    return {"genuine": [((f, i), (f, j)) for f in r for i in k for j in k if j > i],
            "fvc": [((f, 1), (g, 1)) for f in r for g in r if g > f],
            "all": [((f, i), (g, j)) for f in r for g in r if g > f for i in k for j in k]}


def scores_of(templates: dict, pairs) -> np.ndarray:
    return np.array([cache.score(templates[a], templates[b]) for a, b in pairs])


def learned_raw(databases, dpis, scale: float, images=None) -> dict:
    """{db: {key: Template or None}} of the learned extractor at ``scale``: the variants' cached
    low-threshold detections (restrict them to a threshold and cap with :func:`at_setting`)."""
    variant = variants.learned_variant(f"learned {scale:g}", scale=scale)
    out = {}
    for db, items in (images or databases).items():
        out[db] = {}
        for key, value in items.items():
            image, dpi = value if isinstance(value, tuple) else (value, dpis[db])
            out[db][key] = cache.cached(image, dpi, variants.settings_key(variant), variant.extract)[0]
    return out


def at_setting(raw_templates: dict, setting: tuple) -> dict:
    threshold, cap = setting
    return {db: {k: variants.restrict(t, threshold, cap) for k, t in items.items()}
            for db, items in raw_templates.items()}


def detection_settings(raw_templates: dict, dbs) -> dict:
    """{held-out db: (threshold, cap)} chosen on the other three, as bench --variants chooses them."""
    return variants.lodo(variants.lodo_table(raw_templates, dbs, True, eer), dbs)[0]


def classical_templates(databases, dpis, images=None) -> dict:
    run = lambda image, dpi: fp.extract(image, dpi=dpi, method="classical")  # noqa: E731
    out = {}
    for db, items in (images or databases).items():
        out[db] = {}
        for key, value in items.items():
            image, dpi = value if isinstance(value, tuple) else (value, dpis[db])
            out[db][key] = cache.cached(image, dpi, "classical", run)[0]
    return out


# ------------------------------------------------------------------------- rules

def rules() -> list[tuple]:
    """Candidate rules in tie-break order: (name, kind, weight of the learned score)."""
    out = [("learned only", "raw", 1.0), ("classical only", "raw", 0.0)]
    out += [(f"raw sum w={w:.1f}", "raw", w) for w in WEIGHTS]
    out += [(f"calibrated sum w={w:.1f}", "calibrated", w) for w in WEIGHTS]
    out.append(("calibrated max", "max", None))
    return out


def fuse(rule: tuple, learned: np.ndarray, classical: np.ndarray, models: dict) -> np.ndarray:
    """Fused scores of raw score arrays; ``models``: each extractor's impostor model (fit_tail form)."""
    _, kind, w = rule
    if kind == "raw":
        return w * learned + (1 - w) * classical
    cl = calibration_fit.calibrated_with(models["learned"], learned)
    cc = calibration_fit.calibrated_with(models["classical"], classical)
    return np.maximum(cl, cc) if kind == "max" else w * cl + (1 - w) * cc


def fit_models(scores: dict, dbs) -> dict:
    """Each extractor's worst-sensor impostor model fitted on ``dbs``' all-pairs impostors."""
    return {m: calibration_fit.fit_worst_sensor({db: scores[db][m]["all"] for db in dbs})
            for m in ("learned", "classical")}


def rule_figures(rule, scores: dict, db: str, models: dict) -> dict:
    s = {part: fuse(rule, scores[db]["learned"][part], scores[db]["classical"][part], models)
         for part in ("genuine", "fvc", "all")}
    return {"fvc": eer(s["genuine"], s["fvc"]) * 100, "all": eer(s["genuine"], s["all"]) * 100,
            "fnmr": fnmr_at_fmr(s["genuine"], s["all"], 0.001) * 100}


def choose(scores: dict, training: list[str], candidates: list[tuple]) -> tuple:
    """(rule, models) with the lowest mean all-pairs EER on ``training`` (models fitted on it too)."""
    models = fit_models(scores, training)

    def objective(index: int):
        figures = [rule_figures(candidates[index], scores, db, models) for db in training]
        return (round(np.mean([f["all"] for f in figures]), 4), round(np.mean([f["fnmr"] for f in figures]), 4),
                index)
    best = min(range(len(candidates)), key=objective)
    return candidates[best], models


def lodo(fold_scores: dict, dbs: list[str], candidates: list[tuple]) -> dict:
    """{held-out db: (chosen rule, models fitted without it, its figures on the held-out db)};
    ``fold_scores[db]``: the scores of every database with the learned detections chosen without db."""
    out = {}
    for db in dbs:
        scores = fold_scores[db]
        rule, models = choose(scores, [d for d in dbs if d != db], candidates)
        out[db] = (rule, models, rule_figures(rule, scores, db, models))
    return out


# ------------------------------------------------------------------------- report

def clean_scores(classical: dict, learned: dict, dbs) -> dict:
    pairs = protocol_pairs()
    return {db: {m: {part: scores_of(t[db], p) for part, p in pairs.items()}
                 for m, t in (("learned", learned), ("classical", classical))} for db in dbs}


def print_lodo(label: str, folds: dict, dbs, rules_chosen: bool = False) -> None:
    held = [folds[db][2] for db in dbs]
    per_db = " / ".join(f"{f['fvc']:.2f}" for f in held)
    row(f"{label}: LODO EER (FVC protocol)", f"{np.mean([f['fvc'] for f in held]):.2f} % ({per_db})")
    row("    all-pairs EER / FNMR at FMR 0.1 % (held out)",
        f"{np.mean([f['all'] for f in held]):.2f} % / {np.mean([f['fnmr'] for f in held]):.2f} %",
        "per DB " + " / ".join(f"{f['all']:.2f}-{f['fnmr']:.2f}" for f in held))
    if rules_chosen:
        row("    rule chosen per fold", "; ".join(f"{db[:3]}: {folds[db][0][0]}" for db in dbs))


def robustness_eers(databases, dpis, classical_clean, learned_raw_clean, scale, settings, fused: dict,
                    dbs) -> dict:
    """{set: {"learned"/"classical"/each of ``fused``: mean EER %}}: each database with its fold's
    detection setting and rule (both chosen without it); ``fused``: {label: lodo() folds}."""
    sets = {"clean": robustness.clean_probes({db: databases[db] for db in dbs}, dpis)}
    for name in ROBUSTNESS_SETS:
        sets[name] = robustness.probe_set(name, databases, dpis)
    out = {}
    for name, probes in sets.items():
        probe_classical = classical_templates(databases, dpis, probes)
        probe_learned_raw = learned_raw(databases, dpis, scale, probes)
        eers = {"learned": [], "classical": [], **{label: [] for label in fused}}
        for db in dbs:
            learned_probe = at_setting({db: probe_learned_raw[db]}, settings[db])[db]
            learned_enrolled = at_setting({db: learned_raw_clean[db]}, settings[db])[db]
            templates = {"classical": (probe_classical[db], classical_clean[db]),
                         "learned": (learned_probe, learned_enrolled)}
            genuine_pairs, impostor_pairs = robustness.pairs()
            s = {m: {part: np.array([cache.score(probe[a], enrolled[b]) for a, b in pairs])
                     for part, pairs in (("genuine", genuine_pairs), ("impostor", impostor_pairs))}
                 for m, (probe, enrolled) in templates.items()}
            eers["learned"].append(eer(s["learned"]["genuine"], s["learned"]["impostor"]))
            eers["classical"].append(eer(s["classical"]["genuine"], s["classical"]["impostor"]))
            for label, folds in fused.items():
                rule, models = folds[db][0], folds[db][1]
                eers[label].append(eer(fuse(rule, s["learned"]["genuine"], s["classical"]["genuine"], models),
                                       fuse(rule, s["learned"]["impostor"], s["classical"]["impostor"], models)))
        out[name] = {m: float(np.mean(v)) * 100 for m, v in eers.items()}
    return out


def timing(databases, dpis, classical: dict, learned: dict, scale: float, dbs, images: int = 16) -> None:
    """The cost of fusing: one classical extraction more per image, and two comparisons per pair."""
    sample = [(databases[db][f, 1], dpis[db]) for db in dbs for f in range(1, images // len(dbs) + 1)]
    wall, cpu = variants.time_variant(variants.CLASSICAL, sample)
    row(f"classical extraction added per image (median of {len(sample)})", f"{wall:.0f} ms wall",
        f"process CPU {cpu:.0f} ms (the learned one's: bench fingerprint --variants)")
    one, both = [], []
    for db in dbs:
        for a, b in protocol_pairs()["all"][::7]:
            la, lb, ca, cb = learned[db][a], learned[db][b], classical[db][a], classical[db][b]
            if None in (la, lb, ca, cb):
                continue
            for t in (la, lb, ca, cb):
                fp.prepare(t)
            c0 = time.thread_time()
            fp.compare_raw(la, lb)
            c1 = time.thread_time()
            fp.compare_raw(ca, cb)
            c2 = time.thread_time()
            one.append(c1 - c0)
            both.append(c2 - c0)
    row(f"1:1 compare, learned {scale:g} x only vs fused ({len(one):,} pairs)",
        f"{median(one) * 1000:.3f} vs {median(both) * 1000:.3f} ms", "thread CPU, median")


def report(databases: dict, dpis: dict, robust: bool = True, scales=SCALES) -> dict:
    """Prints the fused-score figures; returns {scale: {"folds", "settings", "robustness"}}."""
    dbs = sorted(databases)
    print("\n   FUSION: classical + learned scores, leave-one-database-out (HELD-OUT figures): per fold, the")
    print("   learned threshold/cap as bench --variants chooses them, the rule with the lowest mean all-pairs EER")
    print("   on the other three (calibrations fitted on them too); robustness sets with each DB's fold choices")
    classical = classical_templates(databases, dpis)
    candidates = rules()
    only = {name: [rule for rule in candidates if rule[0] == name]
            for name in ("learned only", "classical only", "raw sum w=0.5")}
    results = {}
    for scale in scales:
        raw_clean = learned_raw(databases, dpis, scale)
        settings = detection_settings(raw_clean, dbs)
        by_setting = {s: clean_scores(classical, at_setting(raw_clean, s), dbs) for s in set(settings.values())}
        fold_scores = {db: by_setting[settings[db]] for db in dbs}
        folds = lodo(fold_scores, dbs, candidates)
        plain = lodo(fold_scores, dbs, only["raw sum w=0.5"])
        print_lodo(f"learned {scale:g} x only", lodo(fold_scores, dbs, only["learned only"]), dbs)
        if scale == scales[0]:
            print_lodo("classical only", lodo(fold_scores, dbs, only["classical only"]), dbs)
        print_lodo(f"plain raw sum, learned {scale:g} x (nothing fitted)", plain, dbs)
        print_lodo(f"fused, rule chosen, learned {scale:g} x", folds, dbs, rules_chosen=True)
        results[scale] = {"folds": folds, "plain": plain, "settings": settings}
        if robust:
            sets = robustness_eers(databases, dpis, classical, raw_clean, scale, settings,
                                   {"plain sum": plain, "chosen rule": folds}, dbs)
            results[scale]["robustness"] = sets
            clean = sets["clean"]
            # A clean EER of exactly 0 is replaced by what one failing genuine pair would add, and the
            # cell says so (as the robustness report does), instead of a silent 0.1 %.
            floor = robustness.ratio_floor(len(robustness.pairs()[0]), len(dbs))
            for name, figures in sets.items():
                cells = "  ".join(f"{m} {figures[m]:.2f}" + ("" if name == "clean" else
                                                             f" ({figures[m] / max(clean[m], floor):.1f}x"
                                                             f"{' of the floor' if clean[m] == 0 else ''})")
                                  for m in figures)
                row(f"  {name}, EER % (learned {scale:g} x)", cells, "" if name == "clean" else "target <= 1.5x clean")
    last = scales[-1]
    shipped_cut = (L.QUALITY_THRESHOLD, L.MAX_MINUTIAE)
    timing(databases, dpis, classical, at_setting(learned_raw(databases, dpis, last), shipped_cut), last, dbs)
    return results
