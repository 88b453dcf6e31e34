"""GLSL 3.30 sources of the instanced crowd (see :mod:`showroom.client.crowd_view`).

Per-avatar data sits in a buffer texture, two RGBA32F texels per avatar:
``(x, y, heading, phase)`` and ``(id, walking, drawn near, -)``. Everything else about an
avatar's look (skin, hair, hairstyle, build, clothes) is hashed from its id by the same
function as :func:`showroom.client.crowd_look.avatar_looks`; the GLSL tables below are
written from that module's arrays, so the two cannot drift apart.

Lighting, on the smooth figures and baked into the far impostors alike: a key light from
above the viewer's left shoulder, a fill from the right, a sky/ground ambient and a cool
rim on the silhouette, all times the house light.
"""

from __future__ import annotations

import numpy as np

from showroom.client import crowd_look as lk
from showroom.client.avatar_figure import ARM_SWING, BOB_M, HEAD_C, HIP_Z, LEG_SWING, NECK_BLEND, SHOULDER_Z
from showroom.client.crowd_sprites import ANGLES, FRAMES, SHADE_SCALE, SHAPE_OF_STYLE, SHAPES
from showroom.client.reaction_pick import BUBBLE_GROWTH, BUBBLE_M, BUBBLE_Z

RIM_COLOR = (0.55, 0.62, 0.75)


def _vec3s(name: str, rows: np.ndarray) -> str:
    items = ", ".join(f"vec3({r:.4f}, {g:.4f}, {b:.4f})" for r, g, b in rows.tolist())
    return f"const vec3 {name}[{len(rows)}] = vec3[{len(rows)}]({items});"


def _ints(name: str, values: np.ndarray) -> str:
    return f"const int {name}[{len(values)}] = int[{len(values)}]({', '.join(str(int(v)) for v in values)});"


def _field(h: str, spec: tuple[int, int]) -> str:
    shift, bits = spec
    return f"(({h} >> {shift}u) & {(1 << bits) - 1}u)"


LOOK = f"""
uniform vec3 palette[{lk.PALETTE_MAX}];
uniform int palette_n;
uniform float me;
{_vec3s("SKIN", lk.SKIN)}
{_vec3s("HAIR", lk.HAIR)}
{_vec3s("BOTTOMS", lk.BOTTOMS)}
{_vec3s("SHOES", lk.SHOES)}
{_ints("STYLE_TABLE", lk.STYLE_TABLE)}
{_ints("STYLE_MASK", lk.STYLE_MASK)}
const float TAU = 6.2831853;
struct Look {{
    vec3 skin, hair, top, bottom, shin, forearm, shoes;
    int style;
    float height, width;
}};
uint mix32(uint x) {{
    x ^= x >> 16u; x *= 0x7feb352du; x ^= x >> 15u; x *= 0x846ca68bu; x ^= x >> 16u;
    return x;
}}
Look look(float id) {{
    Look L;
    uint h = mix32(uint(id));
    uint g = mix32(h ^ {lk.SECOND_SALT}u);
    L.skin = SKIN[{_field("h", lk.F_SKIN)}];
    L.hair = HAIR[{_field("h", lk.F_HAIR)}];
    L.style = STYLE_TABLE[{_field("h", lk.F_STYLE)}];
    L.height = {lk.HEIGHT_RANGE[0]} + {lk.HEIGHT_RANGE[1] - lk.HEIGHT_RANGE[0]:.4f} * float({_field("h", lk.F_HEIGHT)}) / 255.0;
    L.width = {lk.WIDTH_RANGE[0]} + {lk.WIDTH_RANGE[1] - lk.WIDTH_RANGE[0]:.4f} * float({_field("h", lk.F_WIDTH)}) / 255.0;
    L.shoes = SHOES[{_field("h", lk.F_SHOES)}];
    uint n = uint(palette_n);
    uint top = g % n;
    uint other = (top + 1u + (g >> 9u) % (n - 1u)) % n;
    L.top = palette[top];
    L.bottom = ((g >> 24u) & 1u) == 0u ? BOTTOMS[{_field("g", (25, 3))}] : palette[other];
    if (abs(id - me) < 0.5) {{
        L.top = vec3{lk.ME_COLOR};
        L.bottom = vec3{lk.ME_BOTTOM};
    }}
    if (L.style == {lk.STYLE_BUZZ}) L.hair = mix(L.hair, L.skin, {lk.BUZZ_MIX});
    L.shin = {_field("h", lk.F_SHORTS)} == 0u ? L.skin : L.bottom;
    L.forearm = {_field("h", lk.F_SLEEVES)} == 0u ? L.skin : L.top;
    return L;
}}
// the light rig of one avatar, turned to face the viewer: key above-left, fill right
void rig(vec2 at, vec3 eye, out vec3 key, out vec3 fill) {{
    vec2 d = eye.xy - at;
    float len = length(d);
    d = len > 1e-4 ? d / len : vec2(0.0, -1.0);
    vec2 r = vec2(-d.y, d.x);  // the viewer's right
    key = normalize(vec3(0.55 * d - 0.45 * r, 0.75));
    fill = normalize(vec3(0.5 * d + 0.6 * r, 0.1));
}}
"""

SHADE = f"""
float shade(vec3 n, vec3 key, vec3 fill, float z) {{
    float ambient = 0.27 + 0.09 * n.z;
    float ao = mix(0.7, 1.0, smoothstep(0.0, 0.5, z));
    return (ambient + 0.66 * max(dot(n, key), 0.0) + 0.26 * max(dot(n, fill), 0.0)) * ao;
}}
const vec3 RIM = vec3{RIM_COLOR};
"""

def _figure(per_pixel: bool) -> tuple[str, str]:
    """The figure's vertex and fragment shaders, lit per pixel (close up) or per vertex (further off, where a
    software renderer's fragments are the cost and the difference does not show)."""
    outputs = ("out vec3 v_base;\nout vec3 v_normal;\nout vec3 v_world;\nout float v_z;\n"
               "flat out vec3 v_key;\nflat out vec3 v_fill;" if per_pixel else f"out vec3 v_color;\nuniform vec3 house;\n{SHADE}")
    tail = ("    v_normal = wn;\n    v_world = world;\n    v_z = p3d_Vertex.z;\n    v_base = base;\n"
            "    rig(a.xy, eye, v_key, v_fill);" if per_pixel else
            "    vec3 key, fill;\n    rig(a.xy, eye, key, fill);\n"
            "    float facing = max(dot(wn, normalize(eye - world)), 0.0);\n"
            "    v_color = (base * shade(wn, key, fill, p3d_Vertex.z) + RIM * pow(1.0 - facing, 3.0) * 0.35) * house;")
    vertex = f"""
#version 330
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;
uniform vec3 eye;
{LOOK}
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;
in float part;
in float mat;
in float hairstyle;
{outputs}
const vec3 HEAD_C = vec3{HEAD_C};
void main() {{
    vec4 a = texelFetch(instances, gl_InstanceID * 2);      // x, y, heading, phase
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);  // id, walking, drawn near, -
    Look L = look(b.x);
    vec3 p = p3d_Vertex.xyz;
    vec3 n = p3d_Normal;
    int tag = int(hairstyle + 0.5);
    if (tag != 0) {{
        if ((tag & STYLE_MASK[L.style]) == 0) p = HEAD_C;  // a piece this style has not: no area
        else if (L.style == {lk.STYLE_BUZZ}) p = HEAD_C + (p - HEAD_C) * {lk.BUZZ_SHRINK};
    }}
    float walking = b.y;
    float cycle = sin(a.w * TAU);
    if (part > 0.5) {{
        float forward = (part < 1.5 || part > 3.5) ? 1.0 : -1.0;  // left leg with right arm
        bool arm = part > 2.5;
        float ang = cycle * walking * forward * (arm ? {ARM_SWING} : {LEG_SWING});
        float pivot = arm ? {SHOULDER_Z} : {HIP_Z};
        float c = cos(ang), s = sin(ang);
        float dz = p.z - pivot;
        p.yz = vec2(p.y * c - dz * s, p.y * s + dz * c + pivot);
        n.yz = vec2(n.y * c - n.z * s, n.y * s + n.z * c);
    }}
    float body = 1.0 - smoothstep({NECK_BLEND[0]}, {NECK_BLEND[1]}, p3d_Vertex.z);
    vec2 build = vec2(mix(1.0, L.width, body), mix(1.0, 0.5 + 0.5 * L.width, body));
    p.xy *= build;
    n.xy /= build;
    p *= L.height;
    p.z += abs(cycle) * {BOB_M} * walking;
    float ch = cos(a.z), sh = sin(a.z);
    vec3 world = vec3(p.x * ch - p.y * sh + a.x, p.x * sh + p.y * ch + a.y, p.z);
    vec3 wn = normalize(vec3(n.x * ch - n.y * sh, n.x * sh + n.y * ch, n.z));
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(world, 1.0);
    vec3 mats[8] = vec3[8](p3d_Color.rgb, L.skin, L.hair, L.top, L.bottom, L.shin, L.forearm, L.shoes);
    vec3 base = mats[int(mat + 0.5)];
{tail}
}}
"""
    if not per_pixel:
        return vertex, FLAT_FRAGMENT
    fragment = f"""
#version 330
uniform vec3 house;
uniform vec3 eye;
in vec3 v_base;
in vec3 v_normal;
in vec3 v_world;
in float v_z;
flat in vec3 v_key;
flat in vec3 v_fill;
out vec4 p3d_FragColor;
{SHADE}
void main() {{
    vec3 n = normalize(v_normal);
    float facing = max(dot(n, normalize(eye - v_world)), 0.0);
    float rim = pow(1.0 - facing, 3.0) * 0.35;
    vec3 color = v_base * shade(n, v_key, v_fill, v_z) + RIM * rim;
    p3d_FragColor = vec4(color * house, 1.0);
}}
"""
    return vertex, fragment


FLAT_FRAGMENT = """
#version 330
in vec3 v_color;
out vec4 p3d_FragColor;
void main() { p3d_FragColor = vec4(v_color, 1.0); }
"""

VERTEX, FRAGMENT = _figure(per_pixel=True)
"""The close figure, lit per pixel."""
VERTEX_LIT, FRAGMENT_LIT = _figure(per_pixel=False)
"""The lighter figure further off, lit per vertex."""

assert FRAMES == (0.0, 0.25, 0.75), "the sprite shader picks rows for these walk phases"
SPRITE_VERTEX = f"""
#version 330
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;
uniform vec3 eye;
uniform vec3 house;
uniform vec2 size_m;
uniform vec2 spans[{len(SHAPES) * len(FRAMES) * ANGLES}];  // per cell: the figure's columns, from and to (0-1)
{LOOK}
{_ints("SHAPE_OF_STYLE", np.asarray(SHAPE_OF_STYLE))}
in vec4 p3d_Vertex;
out vec2 v_uv;
flat out vec3 v_skin, v_hair, v_top, v_bottom;
void main() {{
    vec4 a = texelFetch(instances, gl_InstanceID * 2);      // x, y, heading, phase
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);  // id, walking, drawn near, -
    if (b.z > 0.5) {{                                        // the detailed mesh draws this one
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        v_uv = vec2(0.0);
        return;
    }}
    Look L = look(b.x);
    vec2 to_eye = eye.xy - a.xy;
    float len = length(to_eye);
    vec2 dir = len > 1e-4 ? to_eye / len : vec2(0.0, -1.0);
    vec2 right = vec2(-dir.y, dir.x);
    vec2 facing = vec2(-sin(a.z), cos(a.z));
    float view = atan(dir.x * facing.y - dir.y * facing.x, dot(dir, facing));
    float column = mod(floor(view / (TAU / {ANGLES}.0) + 0.5), {ANGLES}.0);
    float quarter = b.y > 0.5 ? mod(floor(fract(a.w) * 4.0 + 0.5), 4.0) : 0.0;  // legs together at 0 and 2
    float row = float(SHAPE_OF_STYLE[L.style] * {len(FRAMES)}) + (quarter == 1.0 ? 1.0 : quarter == 3.0 ? 2.0 : 0.0);
    float bob = b.y * abs(sin(a.w * TAU)) * {BOB_M};
    vec2 span = spans[int(row) * {ANGLES} + int(column)];
    float x = mix(span.x, span.y, p3d_Vertex.x + 0.5) - 0.5;
    vec2 size = size_m * L.height * vec2(mix(1.0, L.width, 0.7), 1.0);
    vec3 world = vec3(a.xy + right * x * size.x, p3d_Vertex.z * size.y + bob);
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(world, 1.0);
    v_uv = vec2((column + x + 0.5) / {ANGLES}.0, 1.0 - (row + 1.0 - p3d_Vertex.z) / {len(SHAPES) * len(FRAMES)}.0);
    vec3 light = house * {SHADE_SCALE};
    v_skin = L.skin * light;
    v_hair = L.hair * light;
    v_top = L.top * light;
    v_bottom = L.bottom * light;
}}
"""

SPRITE_FRAGMENT = f"""
#version 330
uniform sampler2D sprites;
uniform vec3 house;
in vec2 v_uv;
flat in vec3 v_skin, v_hair, v_top, v_bottom;
out vec4 p3d_FragColor;
// far off, a software renderer pays for every input a fragment reads: four colours, not seven (sleeves and
// trouser legs in the clothes' colour, shoes and eyes dark)
void main() {{
    vec2 c = texture(sprites, v_uv).rg;  // material code + 1 (0: empty), light
    int m = int(c.r * 255.0 + 0.5) - 1;
    if (m < 0) discard;
    vec3 base = m == {lk.MAT_SKIN} ? v_skin : m == {lk.MAT_HAIR} ? v_hair
              : (m == {lk.MAT_TOP} || m == {lk.MAT_FOREARM}) ? v_top
              : (m == {lk.MAT_BOTTOM} || m == {lk.MAT_SHIN}) ? v_bottom : house * {0.09 * SHADE_SCALE:.3f};
    p3d_FragColor = vec4(base * c.g, 1.0);
}}
"""

BUBBLE_VERTEX = f"""
#version 330
uniform mat4 p3d_ModelViewMatrix;
uniform mat4 p3d_ProjectionMatrix;
uniform samplerBuffer instances;
in vec4 p3d_Vertex;
out vec2 v_uv;
void main() {{
    vec4 a = texelFetch(instances, gl_InstanceID);  // x, y, glyph, age 0..1
    vec4 centre = p3d_ModelViewMatrix * vec4(a.x, a.y, {BUBBLE_Z} + a.w * 0.5, 1.0);
    centre.xy += p3d_Vertex.xz * ({BUBBLE_M} + {BUBBLE_GROWTH} * length(centre.xyz));
    gl_Position = p3d_ProjectionMatrix * centre;
    v_uv = vec2((a.z + p3d_Vertex.x + 0.5) / 6.0, p3d_Vertex.z + 0.5);
}}
"""

BUBBLE_FRAGMENT = """
#version 330
uniform sampler2D atlas;
in vec2 v_uv;
out vec4 p3d_FragColor;
void main() {
    vec4 c = texture(atlas, v_uv);
    if (c.a < 0.4) discard;
    p3d_FragColor = c;
}
"""
