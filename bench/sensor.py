"""Fingerprint capture + upload time through the real driver and the simulated module on a PTY.

The simulator paces its replies at the module's baud rate (10 bits a byte on 8N1), so the figures
are the wire time of a real module plus the host's own cost; the module's capture time itself
(~0.2-0.5 s on hardware) is not modelled. Targets from hardware.md: about 7 s at 57600 baud and
3.5 s at 115200 for a 256x288 image.

It also checks, on FVC2002 pairs when ../shared/datasets is present, that a probe passed through
the simulated sensor (fitted to its size, 4-bit pixels) still matches its enrolment image with the
host matcher as well as the raw image does.

    python -m bench sensor [--repeat N] [--fingers N]
"""
from __future__ import annotations

import argparse

import numpy as np
import serial

from bench.common import header, median, row, time_calls
from hardware import r30x
from hardware.fingerprint_sensor import FingerprintSensor
from simulators.fingerprint_sensor import FingerprintModule, fit_to_sensor, serve_on_pty

TARGETS_S = {("r307", 57600): 7.0, ("r307", 115200): 3.5}


def wire_seconds(geometry: r30x.SensorGeometry, packet_size: int, baud: int) -> float:
    """Bytes on the wire for GenImg + UpImage (commands, acks, data packets) at 10 bits a byte."""
    packets = -(-geometry.image_bytes // packet_size)
    frame_overhead = 11                      # header, address, pid, length, checksum
    command = frame_overhead + 1
    ack = frame_overhead + 1
    total = 2 * (command + ack) + geometry.image_bytes + packets * frame_overhead
    return total * 10 / baud


def finger_image(geometry: r30x.SensorGeometry) -> np.ndarray:
    y, x = np.mgrid[0:geometry.height, 0:geometry.width]
    return (127 + 100 * np.sin((x + 0.4 * y) * 2 * np.pi / 9)).astype(np.uint8)


def measure(variant: str, baud: int, repeat: int, pace: bool = True, packet_size: int = 128) -> list[float]:
    module = FingerprintModule(variant, baud=baud, pace=pace, packet_size=packet_size)
    module.place_finger(finger_image(module.geometry))
    device = serve_on_pty(module)
    try:
        with serial.Serial(device.path, baud, timeout=0.05) as port:
            sensor = FingerprintSensor(port, frame_timeout=2.0)
            sensor.read_system_parameters()
            return time_calls(lambda: sensor.capture_image(timeout=5.0), repeat=repeat, warmup=0 if pace else 1)
    finally:
        device.close()


def parse_seconds(repeat: int) -> list[float]:
    """Host-only cost: parse a 256x288 image stream from memory and unpack the pixels."""
    geometry = r30x.R30X_GEOMETRY
    stream = r30x.encode_data(r30x.pack_image(finger_image(geometry)), 128)

    def parse() -> None:
        parser = r30x.FrameParser()
        parser.feed(stream)
        data = bytearray()
        while (frame := parser.next_frame()) is not None:
            data += frame.payload
        r30x.unpack_image(bytes(data), geometry.width, geometry.height)

    return time_calls(parse, repeat=repeat)


def matching_through_the_sensor(fingers: int) -> None:
    """Genuine/impostor scores of FVC2002 pairs: both images raw vs the probe through the sensor
    (fit_to_sensor + 4-bit quantisation), to show the simulated upload keeps ridge geometry."""
    from kiosk.datasets import datasets_dir

    root = datasets_dir()
    if root is None:
        row("matching through the simulated sensor", "skipped", "../shared/datasets absent")
        return
    import cv2

    from matcher import fingerprint

    threshold = fingerprint.threshold_for_fmr(1e-4)

    def score(reference, image: np.ndarray, dpi: float) -> float | None:
        """Comparison score, or None when the matcher refuses the image as too poor (a failure
        to acquire, which a booth would answer by asking for the finger again)."""
        try:
            return fingerprint.compare(reference, fingerprint.extract(image, dpi=dpi))
        except fingerprint.LowQualityError:
            return None

    for db, dpi in (("DB1_B", 500), ("DB2_B", 569), ("DB3_B", 500)):
        folder = root / "fingerprints" / "fvc2002" / db
        for geometry in (r30x.R30X_GEOMETRY, r30x.R503_GEOMETRY):
            raw, sensed, impostor = [], [], []
            for n in range(1, fingers + 1):
                enrol = cv2.imread(str(folder / f"1{n:02d}_1.tif"), cv2.IMREAD_GRAYSCALE)
                probe = cv2.imread(str(folder / f"1{n:02d}_2.tif"), cv2.IMREAD_GRAYSCALE)
                other = cv2.imread(str(folder / f"1{n % fingers + 1:02d}_2.tif"), cv2.IMREAD_GRAYSCALE)
                reference = fingerprint.extract(enrol, dpi=dpi)
                through = r30x.quantise(fit_to_sensor(probe, geometry, dpi)[0])
                through_other = r30x.quantise(fit_to_sensor(other, geometry, dpi)[0])
                raw.append(score(reference, probe, dpi))
                sensed.append(score(reference, through, geometry.dpi))
                impostor.append(score(reference, through_other, geometry.dpi))
            raw_ok = sum(s is not None and s >= threshold for s in raw)
            sensed_ok = sum(s is not None and s >= threshold for s in sensed)
            refused = sum(s is None for s in sensed)
            row(f"{db} via {geometry.name}: genuine median raw / via sensor ({fingers} fingers)",
                f"{median([s for s in raw if s is not None]):.1f} / "
                f"{median([s for s in sensed if s is not None]):.1f}",
                f"accepted {raw_ok} / {sensed_ok} of {fingers} at >= {threshold:.1f} (FMR 1e-4); "
                f"{refused} sensor images refused as low quality; "
                f"impostor max {max((s for s in impostor if s is not None), default=float('nan')):.1f}")


def main(argv: list[str]) -> int:
    args = argparse.ArgumentParser(prog="bench sensor")
    args.add_argument("--repeat", type=int, default=3, help="paced captures per configuration")
    args.add_argument("--fingers", type=int, default=5, help="FVC fingers per database for the matching check")
    opts = args.parse_args(argv)
    header("fingerprint sensor: GenImg + UpImage through the driver, simulator paced at the baud rate")
    for variant in ("r307", "r503"):
        for baud in (57600, 115200):
            times = measure(variant, baud, opts.repeat)
            geometry = FingerprintModule(variant).geometry
            model = wire_seconds(geometry, 128, baud)
            target = TARGETS_S.get((variant, baud))
            target_text = f"target ~{target:.1f} s (hardware.md)" if target else "no published target"
            row(f"{variant} {geometry.width}x{geometry.height} @ {baud} capture+upload, median of {len(times)}",
                f"{median(times):.2f} s", target_text)
            row(f"   wire time at 10 bits/byte; measured / wire", f"{model:.2f} s",
                f"ratio {median(times) / model:.3f}")
    times = measure("r307", 115200, opts.repeat, packet_size=256)
    row(f"r307 @ 115200 with 256-byte packets, median of {len(times)}", f"{median(times):.2f} s",
        f"wire {wire_seconds(r30x.R30X_GEOMETRY, 256, 115200):.2f} s")
    unpaced = measure("r307", 57600, repeat=20, pace=False)
    row("r307 capture+upload over PTY, unpaced (host + PTY cost), median of 20", f"{median(unpaced) * 1e3:.1f} ms")
    parsed = parse_seconds(repeat=50)
    row("parse + unpack a 36,864-byte image stream in memory, median of 50", f"{median(parsed) * 1e3:.2f} ms")
    if opts.fingers > 0:
        matching_through_the_sensor(opts.fingers)
    return 0
