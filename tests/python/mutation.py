"""One seeded byte mutation of a model file, shared by the reader mutation runs: one to three
edits, each a bit flip, a byte from `alphabet` (JSON-ish characters that keep the header
parseable more often) or a truncation with one random byte appended."""


def mutate(rng, raw: bytes, alphabet: str) -> bytes:
    b = bytearray(raw)
    for _ in range(int(rng.integers(1, 4))):
        at = int(rng.integers(len(b)))
        op = int(rng.integers(3))
        if op == 0:
            b[at] ^= 1 << int(rng.integers(8))
        elif op == 1:
            b[at] = ord(alphabet[int(rng.integers(len(alphabet)))])
        else:
            del b[at:]
            b.append(int(rng.integers(256)))
    return bytes(b)
