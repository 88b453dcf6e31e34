"""The same crowd step written the straightforward way: one Python loop over agents.

This is the yardstick for ``showroom bench crowd``: it follows :func:`showroom.sim.step.step`
stage by stage for the benchmark hall (a square hall whose walls act as a clamp, every agent
a visitor walking straight at its goal, no mascots, no navigation fields):

1. neighbours within ``look_m``, from a dict-of-lists spatial hash with cells ``look_m`` wide;
2. preferred speed, slowing on arrival; who is at rest (arrived at the end of the last step,
   or wanting less than ``standing_mps``); keeping right of an oncoming crowd seen in the
   coarse cell ahead; anticipation turns the walking direction away from people in one's way,
   and people at rest right in front of a walker step aside (the "make way" shove); then the
   collision-free speed model's headway rule limits the speed along the turned direction
   (within 60° of it); an agent so held below ``blocked_share`` of the speed it wants tries
   the turns of ``WAY_ANGLES`` in order and takes the one that gets it furthest;
3. the target velocity: the direction times the limited speed, plus the shove, plus
   separation from neighbours inside personal space;
4. relaxation, acceleration and speed limits, integration;
5. overlap projection (every pair that could touch in the first pass, then only pairs within
   5 cm of touching), the step cap, the walls, and neighbours giving way to agents the walls
   pinned;
6. bookkeeping: velocity from the actual displacement, heading, walk-cycle phase, arrival.

Each stage is a loop over agents (and their neighbours) on plain Python floats, with the
vectorised step's formulas in the same order, so the two agree to rounding; a test holds
them together. It is not used by the product.
"""

from __future__ import annotations

import math

from showroom.sim.step import WAY_ANGLES, StepParams

Pair = tuple[int, int]


class ReferenceCrowd:
    """Agents as lists of per-agent coordinates, stepped one agent at a time."""

    def __init__(self, pos: list[tuple[float, float]], goal: list[tuple[float, float]],
                 radius: float, max_speed: float, side_m: float, wall_half_m: float) -> None:
        self.pos = [list(p) for p in pos]
        self.vel = [[0.0, 0.0] for _ in pos]
        self.goal = [list(g) for g in goal]
        self.radius = radius
        self.max_speed = max_speed
        self.side = side_m
        self.wall = wall_half_m
        self.heading = [0.0] * len(pos)
        self.phase = [0.0] * len(pos)
        self.arrived = [False] * len(pos)

    def step(self, dt: float, p: StepParams | None = None) -> None:
        """Advance every agent by ``dt`` seconds."""
        p = p or StepParams()
        n = len(self.pos)
        if n == 0:
            return
        pos, vel, r, vmax = self.pos, self.vel, self.radius, self.max_speed
        width = r + r
        seen = self._neighbours(p.look_m)

        # preferred direction and speed
        direction: list[list[float]] = []
        want: list[float] = []
        for k in range(n):
            gx, gy = self.goal[k][0] - pos[k][0], self.goal[k][1] - pos[k][1]
            length = math.sqrt(gx * gx + gy * gy)
            m = max(length, 1e-9)
            direction.append([gx / m, gy / m])
            want.append(vmax * min(length * (1.0 / p.arrive_m), 1.0))

        # keeping right of an oncoming crowd: the mean velocity in the coarse cell ``view_m`` ahead
        cell = p.view_m * 2 / 3
        cells = math.ceil(self.side / cell) + 3

        def key(x: float, y: float) -> tuple[int, int]:
            cx = min(max(int((x + cell) * (1.0 / cell)), 1), cells - 2)
            cy = min(max(int((y + cell) * (1.0 / cell)), 1), cells - 2)
            return cx, cy

        crowd_in: dict[tuple[int, int], list[float]] = {}
        for k in range(n):
            total = crowd_in.setdefault(key(pos[k][0], pos[k][1]), [0.0, 0.0, 0.0])
            total[0] += 1.0
            total[1] += vel[k][0]
            total[2] += vel[k][1]
        for k in range(n):
            ex, ey = direction[k]
            count, fx, fy = crowd_in.get(key(pos[k][0] + ex * p.view_m, pos[k][1] + ey * p.view_m), (0.0, 0.0, 0.0))
            coming = -(fx * ex + fy * ey) / max(count, 1.0)
            w = p.keep_right * min(max(coming, 0.0), 1.5) * min(count * 0.25, 1.0)
            x, y = ex + ey * w, ey - ex * w
            m = max(math.sqrt(x * x + y * y), 1e-9)
            direction[k] = [x / m, y / m]

        # at rest: arrived (at the end of the last step) or wanting to walk slower than standing pace
        resting = [self.arrived[k] or want[k] < p.standing_mps for k in range(n)]

        # anticipation: turn away from those in one's way (using the direction before any turn);
        # people at rest right in front of a walker step aside
        corridor = width + 2 * p.keep_right_m
        looked: list[list[tuple[float, float, float, float]]] = [[] for _ in range(n)]
        turned: list[tuple[float, float]] = []
        shove = [[0.0, 0.0] for _ in range(n)]
        for k in range(n):
            ex, ey = direction[k]
            turn_x = turn_y = 0.0
            for j, dx, dy, dist in seen[k]:
                along = ex * dx + ey * dy
                cross = ex * dy - ey * dx
                if not (along > 0 and abs(cross) < corridor):
                    continue
                free = dist - width
                looked[k].append((dx, dy, free, dist))
                theirs = vel[j][0] * ex + vel[j][1] * ey
                closing = min(max(want[k] - theirs, 0.0), 3.0)
                in_way = 1.0 - abs(cross) / corridor
                near = max(1.0 - free * (1.0 / p.look_m), 0.0)
                tie = -p.keep_right_m if theirs < 0.0 else 0.0
                side = (p.anticipate if cross > tie else -p.anticipate) * closing * in_way * near
                turn_x += ey * side
                turn_y -= ex * side
                if resting[j]:  # they step away from my path: to their left of my way if they are on my left
                    aside = max(1.0 - free * (1.0 / p.make_way_m), 0.0)
                    aside *= (p.make_way_mps if cross > 0.0 else -p.make_way_mps) * in_way
                    shove[j][0] -= ey * aside
                    shove[j][1] += ex * aside
            turned.append((turn_x, turn_y))
        if any(seen):  # the vectorised step leaves directions alone when nobody sees anybody
            for k in range(n):
                x, y = direction[k][0] + turned[k][0], direction[k][1] + turned[k][1]
                m = max(math.sqrt(x * x + y * y), 1e-9)
                direction[k] = [x / m, y / m]

        # headway: the free gap to the nearest body in one's corridor along the turned direction
        limit = [math.inf] * n
        for k in range(n):
            ex, ey = direction[k]
            for dx, dy, free, dist in looked[k]:
                along = ex * dx + ey * dy
                across = abs(ex * dy - ey * dx)
                if along > 0.5 * dist and across < width:
                    limit[k] = min(limit[k], max(free, 0.0) * (1.0 / p.time_gap_s))

        # finding a way: held well below the speed one wants, try turning either side
        for k in range(n):
            if limit[k] < p.blocked_share * want[k] and want[k] > p.standing_mps:
                self._find_a_way(k, direction, limit, want[k], seen[k], width, p)
        want = [min(want[k], limit[k]) for k in range(n)]

        # separation inside personal space, each pair once
        apart = [[0.0, 0.0] for _ in range(n)]
        reach = width + p.personal_m
        for k in range(n):
            for j, dx, dy, dist in seen[k]:
                if j < k or dist >= reach:
                    continue
                m = max(dist, 1e-9)
                ux, uy = -dx / m, -dy / m  # from j towards k
                if dist < 1e-9:  # on top of each other: a fixed, index-dependent axis
                    angle = (k * 2.399963) % (2 * math.pi)
                    ux, uy = math.cos(angle), math.sin(angle)
                depth = (reach - dist) * (1.0 / p.personal_m)
                push = p.separation_mps * min(depth, 2.0)
                apart[k][0] += ux * push
                apart[k][1] += uy * push
                apart[j][0] -= ux * push
                apart[j][1] -= uy * push
        target = [[direction[k][0] * want[k] + shove[k][0] + apart[k][0],
                   direction[k][1] * want[k] + shove[k][1] + apart[k][1]] for k in range(n)]

        # relaxation, acceleration and speed limits, integration
        blend = min(1.0, dt / p.relax_s)
        accel = p.max_accel_mps2 * dt
        new: list[list[float]] = []
        for k in range(n):
            vx, vy = vel[k]
            dvx, dvy = (target[k][0] - vx) * blend, (target[k][1] - vy) * blend
            scale = min(1.0, accel / max(math.sqrt(dvx * dvx + dvy * dvy), 1e-12))
            vx, vy = vx + dvx * scale, vy + dvy * scale
            speed = math.sqrt(vx * vx + vy * vy)
            if speed > vmax:
                vx, vy = vx * (vmax / speed), vy * (vmax / speed)
            new.append([pos[k][0] + vx * dt, pos[k][1] + vy * dt])

        # bodies: pairs that could touch after this step
        touch_m = width + 2.0 * vmax * dt
        bodies = [(k, j) for k in range(n) for j, _, _, dist in seen[k] if j > k and dist < touch_m]
        self._project(new, bodies, None, p.projection_passes)

        # step cap, then the walls
        cap = vmax * dt
        for k in range(n):
            dx, dy = new[k][0] - pos[k][0], new[k][1] - pos[k][1]
            d = math.sqrt(dx * dx + dy * dy)
            if d > cap:
                dx, dy = dx * (cap / d), dy * (cap / d)
            new[k] = [pos[k][0] + dx, pos[k][1] + dy]
        pinned = self._walls(new, range(n))
        for _ in range(2):  # walls win over bodies: neighbours of the pinned give way, twice settles corners
            if not pinned:
                break
            share = {(i, j): 0.0 if i in pinned else 1.0  # the free side of a pair takes all of the overlap
                     for i, j in bodies if (i in pinned) != (j in pinned)}
            pairs = list(share)
            self._project(new, pairs, share, 4)
            pinned = self._walls(new, sorted({k for pair in pairs for k in pair}))

        # bookkeeping
        for k in range(n):
            dx, dy = new[k][0] - pos[k][0], new[k][1] - pos[k][1]
            step_len = math.sqrt(dx * dx + dy * dy)
            vel[k] = [dx * (1.0 / dt), dy * (1.0 / dt)]
            pos[k] = new[k]
            self.phase[k] = (self.phase[k] + step_len * (1.0 / p.stride_m)) % 1.0
            if step_len > 0.1 * dt:
                self.heading[k] = math.atan2(-dx, dy)
            lx, ly = self.goal[k][0] - new[k][0], self.goal[k][1] - new[k][1]
            self.arrived[k] = lx * lx + ly * ly < p.arrived_m**2

    @staticmethod
    def _find_a_way(k: int, direction: list[list[float]], limit: list[float], want: float,
                    around: list[tuple[int, float, float, float]], width: float, p: StepParams) -> None:
        """Agent ``k`` is blocked: take the first turn of ``WAY_ANGLES`` that gets it furthest (in place).

        Each turn's free speed is the gap to the nearest of all its neighbours in the turned
        corridor (anyone in front, not only within 60°); the progress is that speed, at most
        ``want``, times the cosine of the turn, and must beat the speed it is held to.
        """
        bx, by = direction[k]
        best = limit[k]
        for angle in WAY_ANGLES:
            cos, sin = math.cos(angle), math.sin(angle)
            tx, ty = bx * cos - by * sin, bx * sin + by * cos
            free_speed = math.inf
            for _, dx, dy, dist in around:
                along0, cross0 = bx * dx + by * dy, bx * dy - by * dx  # where it lies along and across the way
                along = cos * along0 + sin * cross0
                across = abs(cos * cross0 - sin * along0)
                if along > 0.0 and across < width:
                    free_speed = min(free_speed, max(dist - width, 0.0) * (1.0 / p.time_gap_s))
            progress = min(free_speed, want) * cos
            if progress > best:
                best = progress
                direction[k] = [tx, ty]
                limit[k] = free_speed

    def _neighbours(self, look_m: float) -> list[list[tuple[int, float, float, float]]]:
        """For each agent, every other within ``look_m``: (index, dx, dy, distance), d = theirs - mine."""
        buckets: dict[tuple[int, int], list[int]] = {}
        for k, (x, y) in enumerate(self.pos):
            buckets.setdefault((int(x // look_m), int(y // look_m)), []).append(k)
        look2 = look_m * look_m
        seen: list[list[tuple[int, float, float, float]]] = [[] for _ in self.pos]
        for k, (x, y) in enumerate(self.pos):
            cx, cy = int(x // look_m), int(y // look_m)
            for ox in (-1, 0, 1):
                for oy in (-1, 0, 1):
                    for j in buckets.get((cx + ox, cy + oy), ()):
                        if j == k:
                            continue
                        dx, dy = self.pos[j][0] - x, self.pos[j][1] - y
                        dist2 = dx * dx + dy * dy
                        if dist2 < look2:
                            seen[k].append((j, dx, dy, math.sqrt(dist2)))
        return seen

    def _project(self, pos: list[list[float]], pairs: list[Pair], share: dict[Pair, float] | None,
                 passes: int) -> None:
        """Push overlapping bodies of ``pairs`` apart (in place), all pairs of a pass at once.

        Pair ``(i, j)`` moves ``i`` by ``share[(i, j)]`` of the overlap (a half each without
        ``share``) and ``j`` by the rest. Passes stop when no pair overlaps by more than 2 mm;
        after the first pass only pairs within 5 cm of touching are looked at.
        """
        touch = self.radius + self.radius
        n = len(pos)
        for k in range(passes):
            shift = [[0.0, 0.0] for _ in range(n)]
            close: list[Pair] = []
            any_hit = False
            for i, j in pairs:
                dx, dy = pos[i][0] - pos[j][0], pos[i][1] - pos[j][1]
                dist = math.sqrt(dx * dx + dy * dy)
                overlap = touch - dist
                if k == 0 and overlap > -0.05:
                    close.append((i, j))
                if overlap <= 0.002:  # a few millimetres are left for the next step
                    continue
                any_hit = True
                m = max(dist, 1e-9)
                sx, sy = dx / m * overlap, dy / m * overlap
                wi = 0.5 if share is None else share[(i, j)]
                wj = 0.5 if share is None else 1.0 - wi
                shift[i][0] += sx * wi
                shift[i][1] += sy * wi
                shift[j][0] -= sx * wj
                shift[j][1] -= sy * wj
            if not any_hit:
                return
            if k == 0:
                pairs = close
            for a in range(n):
                pos[a][0] += shift[a][0]
                pos[a][1] += shift[a][1]

    def _walls(self, pos: list[list[float]], rows: range | list[int]) -> set[int]:
        """Keep agents ``rows`` inside the hall (in place); return those a wall pushed back."""
        r, side = self.radius, self.side
        need = self.wall + r  # from a wall's centreline
        pinned: set[int] = set()
        for k in rows:
            here = pos[k]
            for axis in (0, 1):
                v = min(max(here[axis], r), side - r)  # the floor's edge
                if v < need:  # the wall along 0
                    v += need - v
                    pinned.add(k)
                if side - v < need:  # the wall along ``side``
                    v -= need - (side - v)
                    pinned.add(k)
                here[axis] = v
        return pinned
