"""Helpers the tests share: generated FER-style faces and datasets, real-face scenes, and opening the app."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fer_core.labels import EMOTIONS

REPO_ROOT = Path(__file__).resolve().parent.parent


def synthetic_faces(per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (N, 48, 48) images whose class k is a bright band at height ~6k, on noise: learnable, not faces."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for k in range(len(EMOTIONS)):
        for _ in range(per_class):
            image = rng.integers(0, 90, (48, 48), dtype=np.uint8)
            row = 3 + 6 * k + int(rng.integers(-1, 2))
            image[row:row + 4, 4:44] = 230
            images.append(image)
            labels.append(k)
    return np.stack(images), np.asarray(labels)


def write_folder_split(root: Path, split: str, images, labels, names=None) -> None:
    """Write images as PNG (lossless) into root/split/<class>/; names maps label index -> folder name."""
    names = names or EMOTIONS
    for i, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"{split}_{i:05d}.png"), image)


def write_csv(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    usage = {"train": "Training", "test": "PublicTest"}
    with open(path, "w") as f:
        f.write("emotion,pixels,Usage\n")
        for split, (images, labels) in splits.items():
            for image, label in zip(images, labels, strict=True):
                f.write(f"{label},{' '.join(map(str, image.ravel()))},{usage[split]}\n")



def face_scene(fer_root: Path, n_faces: int = 3, face_px: int = 150, size=(480, 640), seed: int = 0):
    """A BGR scene with real FER2013 test faces pasted, upscaled, at known places; returns (image, boxes)."""
    rng = np.random.default_rng(seed)
    paths = sorted((fer_root / "test" / "happy").glob("*.jpg"))[: 40]
    scene = np.full((*size, 3), 120, np.uint8)
    boxes = []
    gap = (size[1] - n_faces * face_px) // (n_faces + 1)
    for i in range(n_faces):
        face = cv2.imread(str(paths[int(rng.integers(len(paths)))]), cv2.IMREAD_GRAYSCALE)
        face = cv2.resize(face, (face_px, face_px), interpolation=cv2.INTER_CUBIC)
        x, y = gap + i * (face_px + gap), (size[0] - face_px) // 2
        scene[y:y + face_px, x:x + face_px] = face[..., None]
        boxes.append((x, y, face_px, face_px))
    return scene, boxes


def open_page(page: str | None = None, timeout: int = 180):
    """An AppTest of the app started from its entry script, switched to pages/<page> when given, and run."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=timeout).run()
    if page:
        at.switch_page(f"pages/{page}").run()
    return at


def hostile_images() -> dict[str, tuple[bytes, str]]:
    """Generated files that attack an image decoder, by upload name: (bytes, the start of the typed error's
    message). None is a valid image of an accepted format."""
    import io
    import zipfile

    from PIL import Image

    bomb = io.BytesIO()
    Image.new("1", (30000, 30000)).save(bomb, "PNG")  # 30000 x 30000 declared in about 100 KB
    good = cv2.imencode(".jpg", np.full((120, 160, 3), 128, np.uint8))[1].tobytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("inside.jpg", good)
    return {
        # Radiance HDR, which OpenCV would decode, declaring 40000 x 40000 pixels: refused by its magic bytes.
        "hdr_bomb.png": (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 40000 +X 40000\n" + b"\x00" * 4096,
                         "not a readable image"),
        "declared_huge.png": (bomb.getvalue(), "image declares more than"),
        "truncated.jpg": (good[: len(good) // 2], "damaged"),
        "zip_renamed.jpg": (archive.getvalue(), "not a readable image"),
        "empty.png": (b"", "empty file"),
    }
