"""The same crowd step written the straightforward way: one Python loop over agents.

This is the yardstick for ``showroom bench crowd``: it follows :func:`showroom.sim.step.step`
stage by stage (preferred velocity, separation with keep-right, acceleration and speed
limits, overlap projection, step cap, walls, bookkeeping) for the benchmark hall, with a
dict-of-lists spatial hash. It is not used by the product.
"""

from __future__ import annotations

import math

from showroom.sim.step import StepParams


class ReferenceCrowd:
    """Agents as lists of per-agent tuples, stepped one agent at a time."""

    def __init__(self, pos: list[tuple[float, float]], goal: list[tuple[float, float]],
                 radius: float, max_speed: float, side_m: float, wall_half_m: float) -> None:
        self.pos = [list(p) for p in pos]
        self.vel = [[0.0, 0.0] for _ in pos]
        self.goal = [list(g) for g in goal]
        self.radius = radius
        self.max_speed = max_speed
        self.side = side_m
        self.wall = wall_half_m
        self.arrived = [False] * len(pos)

    def step(self, dt: float, p: StepParams = StepParams()) -> None:
        """Advance every agent by ``dt`` seconds."""
        n = len(self.pos)
        cell = 2 * self.radius + p.personal_m
        buckets: dict[tuple[int, int], list[int]] = {}
        for k, (x, y) in enumerate(self.pos):
            buckets.setdefault((int(x // cell), int(y // cell)), []).append(k)
        reach = 2 * self.radius + p.personal_m
        direction = []
        target = []
        for k in range(n):
            gx, gy = self.goal[k][0] - self.pos[k][0], self.goal[k][1] - self.pos[k][1]
            d = math.hypot(gx, gy)
            ux, uy = (gx / d, gy / d) if d > 1e-9 else (0.0, 0.0)
            want = self.max_speed * min(d / p.arrive_m, 1.0)
            direction.append((ux, uy))
            target.append([ux * want, uy * want])
        neighbours: list[list[int]] = [[] for _ in range(n)]
        for k in range(n):
            x, y = self.pos[k]
            cx, cy = int(x // cell), int(y // cell)
            for ox in (-1, 0, 1):
                for oy in (-1, 0, 1):
                    for j in buckets.get((cx + ox, cy + oy), ()):
                        if j == k:
                            continue
                        dx, dy = x - self.pos[j][0], y - self.pos[j][1]
                        dist = math.hypot(dx, dy)
                        if dist >= reach:
                            continue
                        neighbours[k].append(j)
                        ux, uy = (dx / dist, dy / dist) if dist > 1e-9 else (1.0, 0.0)
                        strength = p.separation_mps * min((reach - dist) / p.personal_m, 2.0)
                        ahead = max(-(direction[k][0] * ux + direction[k][1] * uy), 0.0)
                        side = p.keep_right * strength * ahead
                        target[k][0] += ux * strength + direction[k][1] * side
                        target[k][1] += uy * strength - direction[k][0] * side
        new = []
        for k in range(n):
            vx, vy = self.vel[k]
            blend = min(1.0, dt / p.relax_s)
            dvx, dvy = (target[k][0] - vx) * blend, (target[k][1] - vy) * blend
            dv = math.hypot(dvx, dvy)
            limit = p.max_accel_mps2 * dt
            if dv > limit:
                dvx, dvy = dvx * limit / dv, dvy * limit / dv
            vx, vy = vx + dvx, vy + dvy
            speed = math.hypot(vx, vy)
            if speed > self.max_speed:
                vx, vy = vx * self.max_speed / speed, vy * self.max_speed / speed
            new.append([self.pos[k][0] + vx * dt, self.pos[k][1] + vy * dt])
        touch = 2 * self.radius
        for _ in range(p.projection_passes):
            shift = [[0.0, 0.0] for _ in range(n)]
            for k in range(n):
                for j in neighbours[k]:
                    if j < k:
                        continue
                    dx, dy = new[k][0] - new[j][0], new[k][1] - new[j][1]
                    dist = math.hypot(dx, dy)
                    if dist < touch:
                        ux, uy = (dx / dist, dy / dist) if dist > 1e-9 else (1.0, 0.0)
                        o = (touch - dist) / 2
                        shift[k][0] += ux * o
                        shift[k][1] += uy * o
                        shift[j][0] -= ux * o
                        shift[j][1] -= uy * o
            for k in range(n):
                new[k][0] += shift[k][0]
                new[k][1] += shift[k][1]
        low, high = self.wall + self.radius, self.side - self.wall - self.radius
        for k in range(n):
            dx, dy = new[k][0] - self.pos[k][0], new[k][1] - self.pos[k][1]
            d = math.hypot(dx, dy)
            cap = self.max_speed * dt
            if d > cap:
                dx, dy = dx * cap / d, dy * cap / d
            x = min(max(self.pos[k][0] + dx, low), high)
            y = min(max(self.pos[k][1] + dy, low), high)
            self.vel[k] = [(x - self.pos[k][0]) / dt, (y - self.pos[k][1]) / dt]
            self.pos[k] = [x, y]
            self.arrived[k] = math.hypot(self.goal[k][0] - x, self.goal[k][1] - y) < p.arrived_m
