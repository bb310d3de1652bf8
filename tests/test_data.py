import gzip
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from lastmile.data import DataSourceError, frame_hash, infer_types, read_source, read_table
from lastmile.errors import LastmileError

CSV = "Amount,Colour Name,label\n39, dark-red, no\n50, ?, yes.\n"


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A real HTTP server on loopback serving tmp_path."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_read_source_handles_quirks(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(("|1x3 Cross validator\n" + CSV).encode()))
    frame = read_source(str(path), na_values=["?"], comment_prefix="|")
    assert list(frame.columns) == ["amount", "colour_name", "label"]
    assert frame.loc[0, "colour_name"] == "dark-red"
    assert pd.isna(frame.loc[1, "colour_name"])


def test_read_source_over_http_and_file_url(http_root: tuple[Path, str]) -> None:
    root, url = http_root
    (root / "t.csv").write_text(CSV)
    assert len(read_source(f"{url}/t.csv", na_values=["?"])) == 2
    assert len(read_source(f"file://{root / 't.csv'}", na_values=["?"])) == 2


def test_missing_http_file_is_not_found(http_root: tuple[Path, str]) -> None:
    _, url = http_root
    with pytest.raises(DataSourceError, match="not found"):
        read_source(f"{url}/nope.csv", na_values=[])


def test_unreachable_url() -> None:
    with pytest.raises(DataSourceError, match=r"Could not (reach|read) data source"):
        read_source("http://127.0.0.1:9/data.csv", na_values=[])


@pytest.mark.parametrize(
    ("payload", "name", "message"),
    [
        (b"", "empty.csv", "is empty"),
        (b"amount,label\n", "header.csv", "no data rows"),
        (gzip.compress(CSV.encode() * 50, mtime=0)[:-30], "cut.csv.gz", "not a complete gzip file"),
        (b"amount,name\n39,M\xe4nnlich\n", "latin1.csv", "not UTF-8 text: byte 0xe4 at line 2"),
        (b'amount,name\n39,"Ada\n', "quote.csv", "not a well-formed CSV"),
        (b"amount,amount\n1,2\n", "dup.csv", "repeats the column"),
        # An unquoted comma in a value (titanic's "Allen, Miss. Elisabeth"): pandas took the extra
        # leading field for an index and shifted every value one column to the right, silently.
        (
            b"name,age\nAllen, Miss,29\nAllison, Master,1\n",
            "comma.csv",
            "header names 2 columns but its data rows have 3",
        ),
        (b"amount,label\n39,a,\n40,b,\n", "trailing.csv", "drop a comma at the end of each line"),
    ],
)
def test_unreadable_sources(tmp_path: Path, payload: bytes, name: str, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(payload)
    with pytest.raises(DataSourceError, match=message):
        read_source(str(path), na_values=[])


def test_infer_types_keeps_text_in_numeric_columns_for_validation() -> None:
    frame = pd.DataFrame(
        {"a": ["1", "2", None], "b": ["1.5", "2", "x"], "c": ["0.5", "1", None]}, dtype="str"
    )
    typed = infer_types(frame)
    assert str(typed["a"].dtype) == "Int64"
    assert typed["b"].tolist() == ["1.5", "2", "x"]
    assert typed["c"].dtype == "float64"


def test_frame_hash_is_content_based() -> None:
    a = pd.DataFrame({"x": [1, 2]})
    assert frame_hash(a) == frame_hash(a.copy())
    assert frame_hash(a) != frame_hash(pd.DataFrame({"x": [2, 1]}))
    assert frame_hash(a) != frame_hash(pd.DataFrame({"y": [1, 2]}))


def test_reading_a_missing_table_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(LastmileError, match="dvc repro"):
        read_table(tmp_path / "x.parquet")
