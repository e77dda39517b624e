#!/usr/bin/env python3
"""Write test/fixtures/tokenizer-reference.json: token ids from OpenCLIP's own
SimpleTokenizer (open_clip/tokenizer.py) over phrases that stress the tokenizer.

svgvec's tokenizer must give exactly these ids. OpenCLIP imports torch only to
allocate its output tensor, so a numpy stand-in lets this run without torch:

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install ftfy regex numpy
    /tmp/ref/bin/pip download --no-deps open_clip_torch==3.3.0 -d /tmp/ref/whl
    /tmp/ref/bin/python tools/reference_tokens.py /tmp/ref/whl/open_clip_torch-3.3.0-py3-none-any.whl
"""
import importlib.util
import json
import sys
import types
import zipfile
import tempfile
import os

import numpy as np

PHRASES = [
    "dog",
    "a photo of a dog",
    "Red Heart",
    "download arrow",
    "  leading and   trailing\twhitespace\n ",
    "Don't STOP believing!! It's what we'll do, they've said, I'm sure you'd agree",
    "punctuation... ?!? (brackets) [square] {curly} <angle> \"quotes\" 'single'",
    "hyphen-ated under_score slash/separated email@example.com #hashtag $100 50% 3.14",
    "digits 0 1 2 1234567890 2026-11-24 12:30",
    "emoji 🐶 ❤️ 👍🏽 👨‍👩‍👧 🏳️‍🌈 ⬇️",
    "日本語のテキスト",
    "中文图标：下载箭头",
    "Ελληνικά Русский текст עברית العربية हिन्दी",
    "café naïve résumé Ångström",
    "html &amp; entities &lt;svg&gt; &amp;amp;",
    "curly \u201cdouble\u201d and \u2018single\u2019 quotes, don\u2019t",
    "ligatures \ufb01ne \ufb02ag \ufb00ect",
    "full-width \uff21\uff22\uff23 \uff11\uff12\uff13\u3000ideographic space\uff01",
    "control\u0007chars\ufeff and\u00a0no-break\u00a0spaces",
    "CamelCaseWord XMLHttpRequest iPhone",
    "",
    "!!!",
    "a " * 100,
    "supercalifragilisticexpialidocious " * 20,
    "overlong " + " ".join(f"word{i}" for i in range(200)),
    # ftfy repeats its fixes until the text stops changing, so nested entities unwind completely...
    "nested &amp;amp;amp; entities &amp;amp;amp;amp;lt;svg&amp;gt;",
    "&amp;lt;b&amp;gt; bold &amp;quot;icon&amp;quot; &rsquo;curly&rsquo; &ldquo;too&rdquo; &#x2019;s",
    # ...except on a line that holds "<" and every line after it, where only html.unescape (twice) runs.
    "<b>kept</b> &amp;amp;amp; once",
    "first &amp;amp;amp;\n<svg> &amp;amp;amp;\nlast &amp;amp;amp;",
    "<p>&amp;#65279;zero&#65279;width</p>",
    "numeric &#65;&#x42;&#0;&#1;&#128;&#x81;&#xD800;&#1114112;&#65279;&#12;&#x1F600;&#99999999999;",
    "legacy &ampx; &amp-x &notit; &notin; &lt3 &EACUTE;T&EACUTE; &SZLIG; &LTRI; &FRAC12;",
    "ligatures \u01c4 \u01f1 \u01ca \ufb05 \ufb06",
    # C1 controls are read as Windows-1252; the five it leaves unassigned stay.
    "c1\x80controls\x85here \x91quoted\x92 \x93dq\x94 \x96dash\x97 \x99 \x9f \x9b31m",
    "unassigned c1 \x81 \x8d \x8f \x90 \x9d kept",
    # Terminal escapes: SGR sequences go, other escapes lose only their control characters.
    "ansi \x1b[1;31mred\x1b[0m \x1b[38;5;196mbright\x1b[m \x1b[\u0663m",
    "osc \x1b]0;window title\x07text \x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\",
    "bare\x1besc \x1b[ \x1b[12 entity \x1b&#91;31mred",
    "line\rbreaks\u2028and\u2029more\r\nend\x0bvt\x1cfs",
]


def load_open_clip_tokenizer(wheel: str):
    torch = types.ModuleType("torch")
    torch.long = np.int64
    torch.int = np.int32
    torch.LongTensor = np.ndarray
    torch.Tensor = np.ndarray
    torch.zeros = lambda *shape, dtype=None: np.zeros(shape, dtype=dtype)
    torch.tensor = lambda data, dtype=None: np.asarray(data, dtype=dtype)
    sys.modules["torch"] = torch
    tmp = tempfile.mkdtemp()
    with zipfile.ZipFile(wheel) as z:
        z.extract("open_clip/tokenizer.py", tmp)
        z.extract("open_clip/bpe_simple_vocab_16e6.txt.gz", tmp)
    spec = importlib.util.spec_from_file_location("oc_tokenizer", os.path.join(tmp, "open_clip", "tokenizer.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SimpleTokenizer()


def main() -> int:
    tok = load_open_clip_tokenizer(sys.argv[1])
    cases = [{"text": p, "ids": [int(i) for i in tok(p)[0].tolist()]} for p in PHRASES]
    out = {
        "source": "open_clip_torch 3.3.0, open_clip.tokenizer.SimpleTokenizer (context 77, clean=lower)",
        "vocab_sha256": "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "tokenizer-reference.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
