"""Graph algorithms the flow checker uses on the steps' links (linear in the flow's size)."""

from __future__ import annotations

from collections import deque


def strongly_connected(nodes: list[int], links: dict[int, list[int]]) -> list[set[int]]:
    """Tarjan's strongly connected components, without recursion."""
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    parts: list[set[int]] = []
    for root in nodes:
        if root in order:
            continue
        work = [(root, iter(links[root]))]
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in order:
                    order[target] = low[target] = len(order)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(links[target])))
                elif target in on_stack:
                    low[node] = min(low[node], order[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == order[node]:
                part: set[int] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.add(member)
                    if member == node:
                        break
                parts.append(part)
    return parts


def shortest_loop(start: int, links: dict[int, list[int]], part: set[int]) -> list[int]:
    """The shortest way from `start` back to itself inside one strongly connected part."""
    came_from: dict[int, int] = {}
    queue = deque([start])
    while queue and start not in came_from:
        index = queue.popleft()
        for target in links[index]:
            if target in part and target not in came_from:
                came_from[target] = index
                queue.append(target)
    loop = [start]
    while came_from[loop[-1]] != start:
        loop.append(came_from[loop[-1]])
    return [start, *reversed(loop[1:]), start]
