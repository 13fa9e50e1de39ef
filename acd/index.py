"""A bucketed priority index: the data structure that keeps routing decisions O(buckets).

Volunteers are bucketed by the capability set they offer, contacts by the set they require.
There are few distinct sets (a handful of skill and language mixes) however many volunteers
or contacts there are, so "best volunteer that could take this contact" is a peek at the top
of each compatible bucket's heap instead of a scan of 600 volunteers.

Removal is lazy: an entry is live only while its token is the item's current one.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

SortKey = tuple[float, ...]
Compatible = Callable[[frozenset[str], frozenset[str]], bool]


class BucketIndex:
    """Items in buckets keyed by a frozenset, each bucket a heap ordered by the item's sort key.

    ``compatible(query, bucket_key)`` says which buckets a query may take items from.
    """

    __slots__ = ("_buckets", "_compatible", "_live", "_matches", "_next_token", "_entries")

    def __init__(self, compatible: Compatible) -> None:
        self._compatible = compatible
        self._buckets: dict[frozenset[str], list[tuple[SortKey, str, int]]] = {}
        self._live: dict[str, tuple[int, frozenset[str], SortKey]] = {}
        self._matches: dict[frozenset[str], list[list[tuple[SortKey, str, int]]]] = {}
        """Per query, the heaps of the compatible buckets (the lists themselves, never replaced)."""
        self._next_token = 1
        self._entries = 0

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._live

    def put(self, item_id: str, bucket: frozenset[str], sort_key: SortKey) -> None:
        """Add the item, or move it (a stale entry is left behind and skipped later)."""
        token = self._next_token
        self._next_token += 1
        heap = self._buckets.get(bucket)
        if heap is None:
            heap = self._buckets[bucket] = []
            self._matches.clear()  # a new bucket may match queries cached without it
        heapq.heappush(heap, (sort_key, item_id, token))
        self._live[item_id] = (token, bucket, sort_key)
        self._entries += 1
        if self._entries > 4 * len(self._live) + 1024:
            self._compact()

    def discard(self, item_id: str) -> None:
        self._live.pop(item_id, None)

    def best(self, query: frozenset[str]) -> tuple[SortKey, str] | None:
        """The lowest-keyed live item in any bucket compatible with ``query``."""
        live = self._live
        if not live:  # on a busy evening the pool of free volunteers is often empty
            return None
        heaps = self._matches.get(query)
        if heaps is None:
            heaps = self._matching(query)
        best: tuple[SortKey, str, int] | None = None
        for heap in filter(None, heaps):  # most buckets are empty: skip them in C
            top = heap[0]
            current = live.get(top[1])
            while current is None or current[0] != top[2]:
                heapq.heappop(heap)  # a stale entry: the item moved or left
                self._entries -= 1
                if not heap:
                    break
                top = heap[0]
                current = live.get(top[1])
            else:
                if best is None or top < best:
                    best = top
        return None if best is None else (best[0], best[1])

    def _matching(self, query: frozenset[str]) -> list[list[tuple[SortKey, str, int]]]:
        found = [heap for key, heap in self._buckets.items() if self._compatible(query, key)]
        self._matches[query] = found
        return found

    def _compact(self) -> None:
        """Drop stale entries so a long day does not grow the heaps without bound."""
        for heap in self._buckets.values():
            heap.clear()  # in place: the match cache holds these very lists
        for item_id, (token, bucket, sort_key) in self._live.items():
            self._buckets[bucket].append((sort_key, item_id, token))
        for heap in self._buckets.values():
            heapq.heapify(heap)
        self._entries = len(self._live)


def agents_index() -> BucketIndex:
    """Volunteers by offered capabilities; queried with a contact's requirements."""
    return BucketIndex(lambda requires, caps: requires <= caps)


def contacts_index() -> BucketIndex:
    """Contacts by required capabilities; queried with a volunteer's capabilities."""
    return BucketIndex(lambda caps, requires: requires <= caps)
