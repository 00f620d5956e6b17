import cv2
import numpy as np

from helpers import open_page


def _png(image) -> bytes:
    return cv2.imencode(".png", image)[1].tobytes()


def test_page_invites_an_upload():
    at = open_page("2_Analyse_photos.py")
    assert not at.exception
    assert "Drop group photos here" in at.info[0].value


def test_no_face_and_bad_files_get_messages_and_the_rest_is_processed():
    at = open_page("2_Analyse_photos.py")
    at.file_uploader[0].set_value([
        ("blank.png", _png(np.full((240, 320, 3), 200, np.uint8)), "image/png"),
        ("broken.jpg", b"not a jpeg at all", "image/jpeg"),
        ("noise.png", _png(np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)), "image/png"),
    ]).run()
    assert not at.exception
    assert [h.value for h in at.header] == ["blank.png", "broken.jpg", "noise.png"]
    assert len(at.error) == 1 and at.error[0].value.startswith("broken.jpg: not a readable image")
    assert len(at.warning) == 2 and all("No faces found" in w.value for w in at.warning)


def test_group_photo_lists_every_face_the_library_finds(fer_data_dir):
    import fer_core

    photo = fer_data_dir.parent / "photos" / "photo_21.jpg"
    expected = fer_core.analyze(cv2.imread(str(photo)))
    assert len(expected) >= 4
    at = open_page("2_Analyse_photos.py")
    at.file_uploader[0].set_value(("photo_21.jpg", photo.read_bytes(), "image/jpeg")).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == len(expected)
    assert list(table["emotion"]) == [r.emotion for r in expected]
    assert {"face #", "x", "y", "w", "h", "confidence", "happy", "neutral"} <= set(table.columns)
    assert any("Most common" in m.value for m in at.markdown)
    assert len(at.download_button) == 3
    file_id = at.file_uploader[0].value[0].file_id
    at.selectbox(key="why_emotion_" + file_id).set_value("sad").run()
    captions = [caption for image in at.image for caption in (image.captions or [])]
    assert not any(caption.startswith("where the model sees") for caption in captions)  # not until asked
    at.toggle(key="why_show_" + file_id).set_value(True).run()
    assert not at.exception
    captions = [caption for image in at.image for caption in (image.captions or [])]
    assert any(caption.startswith("where the model sees 'sad'") for caption in captions), captions


def test_the_detector_picker_switches_between_yunet_and_haar(fer_data_dir):
    import fer_core
    from fer_core.inference.detect import DetectorConfig

    photo = fer_data_dir.parent / "photos" / "photo_24.jpg"
    image = cv2.imread(str(photo))
    at = open_page("2_Analyse_photos.py")
    assert at.selectbox(key="photos_detector").value == "yunet"
    at.file_uploader[0].set_value(("photo_24.jpg", photo.read_bytes(), "image/jpeg")).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == len(fer_core.analyze(image, DetectorConfig(method="yunet")))
    at.selectbox(key="photos_detector").set_value("haar").run()
    assert not at.exception
    haar = fer_core.analyze(image, DetectorConfig(method="haar"))
    assert len(at.dataframe[0].value) == len(haar)
    # The Haar settings replace YuNet's score threshold in the sensitivity panel.
    assert at.slider(key="photos_neighbors").value == 5


def test_a_rerun_reuses_each_photos_analysis_and_the_count_is_capped(monkeypatch):
    from fer_core.inference import pipeline

    calls = []
    original = pipeline.Analyzer.analyze

    def counted(self, image, channel_order="bgr"):
        calls.append(image.shape)
        return original(self, image, channel_order)

    monkeypatch.setattr(pipeline.Analyzer, "analyze", counted)
    at = open_page("2_Analyse_photos.py")
    photos = [(f"p{i}.png", _png(np.full((60, 80, 3), 10 * i, np.uint8)), "image/png") for i in range(22)]
    at.file_uploader[0].set_value(photos).run()
    assert not at.exception
    assert len(at.header) == 20 and any("first 20 are analysed" in w.value for w in at.warning)
    assert len(calls) == 20
    at.run()  # a rerun with the same photos and settings analyses nothing again
    assert len(calls) == 20 and len(at.header) == 20


def test_each_hostile_file_is_named_once_with_its_typed_error_and_the_rest_is_processed():
    from helpers import hostile_images

    hostile = hostile_images()
    at = open_page("2_Analyse_photos.py")
    good = ("good.png", _png(np.full((120, 160, 3), 90, np.uint8)), "image/png")
    at.file_uploader[0].set_value([(name, data, "image/png") for name, (data, _) in hostile.items()] + [good]).run()
    assert not at.exception
    assert [h.value for h in at.header] == [*hostile, "good.png"]
    errors = [e.value for e in at.error]
    assert len(errors) == len(hostile)
    for (name, (_, reason)), error in zip(hostile.items(), errors, strict=True):
        assert error.startswith(f"{name}: {reason}"), error
    assert any("No faces found" in w.value for w in at.warning)  # good.png was analysed
