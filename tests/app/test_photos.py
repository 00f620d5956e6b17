import cv2
import numpy as np

from conftest import open_page


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
