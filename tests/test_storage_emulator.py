"""The storage stand-in itself works: an object round-trips through the emulator over HTTP."""


def test_round_trip(gcs):
    bucket = gcs.bucket("roundtrip")
    bucket.blob("a/b.txt").upload_from_string("hello")
    assert gcs.client().bucket("roundtrip").blob("a/b.txt").download_as_text() == "hello"
    assert [b.name for b in gcs.client().list_blobs("roundtrip", prefix="a/")] == ["a/b.txt"]
