"""GLSL 3.30 sources of the instanced crowd (see :mod:`showroom.client.crowd_view`).

Per-avatar data sits in a buffer texture, two RGBA32F texels per avatar:
``(x, y, heading, phase)`` and ``(id, walking, drawn near, -)``. Outfit colours come from a
16-entry palette picked by a hash of the id (the same hash as ``outfit_colors``).
"""

VERTEX = """
#version 330
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;
uniform vec3 house;
uniform vec3 outfits[16];
uniform float near_lod;
uniform float me;
in vec4 p3d_Vertex;
in vec3 p3d_Normal;
in vec4 p3d_Color;
in float part;
in float tint;
out vec3 v_color;
void main() {
    vec4 a = texelFetch(instances, gl_InstanceID * 2);      // x, y, heading, phase
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);  // id, walking, drawn near, -
    if (near_lod < 0.5 && b.z > 0.5) {                      // the detailed mesh draws this one
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        v_color = vec3(0.0);
        return;
    }
    float walking = b.y;
    float cycle = sin(a.w * 6.2831853);
    float ang = 0.0;
    float pivot = 0.85;
    if (part > 0.5) {
        float forward = (part < 1.5 || part > 3.5) ? 1.0 : -1.0;  // left leg with right arm
        bool arm = part > 2.5;
        ang = cycle * walking * forward * (arm ? 0.55 : 0.5);
        pivot = arm ? 1.38 : 0.85;
    }
    float c = cos(ang), s = sin(ang);
    vec3 p = p3d_Vertex.xyz;
    vec3 n = p3d_Normal;
    float dz = p.z - pivot;
    p.yz = vec2(p.y * c - dz * s, p.y * s + dz * c + pivot);
    n.yz = vec2(n.y * c - n.z * s, n.y * s + n.z * c);
    p.z += abs(cycle) * 0.045 * walking;
    float ch = cos(a.z), sh = sin(a.z);
    vec3 world = vec3(p.x * ch - p.y * sh + a.x, p.x * sh + p.y * ch + a.y, p.z);
    vec3 wn = vec3(n.x * ch - n.y * sh, n.x * sh + n.y * ch, n.z);
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(world, 1.0);
    uint h = (uint(b.x) * 2654435761u) >> 7u;
    vec3 outfit = abs(b.x - me) < 0.5 ? vec3(1.0, 0.85, 0.1) : outfits[int(h % 16u)];
    vec3 base = mix(p3d_Color.rgb, outfit, tint);
    float lambert = 0.5 + 0.5 * max(dot(normalize(wn), normalize(vec3(0.35, -0.45, 0.82))), 0.0);
    v_color = base * house * lambert;
}
"""

FRAGMENT = """
#version 330
in vec3 v_color;
out vec4 p3d_FragColor;
void main() { p3d_FragColor = vec4(v_color, 1.0); }
"""

SPRITE_VERTEX = """
#version 330
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform samplerBuffer instances;
uniform vec3 eye;
uniform vec3 house;
uniform vec3 outfits[16];
uniform float me;
uniform vec2 size_m;
in vec4 p3d_Vertex;
out vec2 v_uv;
out vec3 v_outfit;
out vec3 v_light;
const float TAU = 6.2831853;
void main() {
    vec4 a = texelFetch(instances, gl_InstanceID * 2);      // x, y, heading, phase
    vec4 b = texelFetch(instances, gl_InstanceID * 2 + 1);  // id, walking, drawn near, -
    if (b.z > 0.5) {                                        // the detailed mesh draws this one
        gl_Position = vec4(2.0, 2.0, 2.0, 1.0);
        v_uv = vec2(0.0);
        v_outfit = v_light = vec3(0.0);
        return;
    }
    vec2 to_eye = eye.xy - a.xy;
    float len = length(to_eye);
    vec2 dir = len > 1e-4 ? to_eye / len : vec2(0.0, -1.0);
    vec2 right = vec2(-dir.y, dir.x);
    vec2 facing = vec2(-sin(a.z), cos(a.z));
    float view = atan(dir.x * facing.y - dir.y * facing.x, dot(dir, facing));
    float column = mod(floor(view / (TAU / 8.0) + 0.5), 8.0);
    float row = b.y > 0.5 ? floor(fract(a.w) * 4.0) : 0.0;
    float bob = b.y * abs(sin(a.w * TAU)) * 0.045;
    vec3 world = vec3(a.xy + right * p3d_Vertex.x * size_m.x, p3d_Vertex.z * size_m.y + bob);
    gl_Position = p3d_ModelViewProjectionMatrix * vec4(world, 1.0);
    v_uv = vec2((column + p3d_Vertex.x + 0.5) / 8.0, 1.0 - (row + 1.0 - p3d_Vertex.z) / 4.0);
    uint h = (uint(b.x) * 2654435761u) >> 7u;
    v_outfit = abs(b.x - me) < 0.5 ? vec3(1.0, 0.85, 0.1) : outfits[int(h % 16u)];
    v_light = house * 0.92;
}
"""

SPRITE_FRAGMENT = """
#version 330
uniform sampler2D sprites;
in vec2 v_uv;
in vec3 v_outfit;
in vec3 v_light;
out vec4 p3d_FragColor;
void main() {
    vec4 c = texture(sprites, v_uv);
    if (c.a < 0.5) discard;
    vec3 color = (c.r > 0.97 && c.g > 0.97 && c.b > 0.97) ? v_outfit : c.rgb;
    p3d_FragColor = vec4(color * v_light, 1.0);
}
"""

BUBBLE_VERTEX = """
#version 330
uniform mat4 p3d_ModelViewMatrix;
uniform mat4 p3d_ProjectionMatrix;
uniform samplerBuffer instances;
in vec4 p3d_Vertex;
out vec2 v_uv;
void main() {
    vec4 a = texelFetch(instances, gl_InstanceID);  // x, y, glyph, age 0..1
    vec4 centre = p3d_ModelViewMatrix * vec4(a.x, a.y, 2.15 + a.w * 0.5, 1.0);
    centre.xy += p3d_Vertex.xz * 0.32;
    gl_Position = p3d_ProjectionMatrix * centre;
    v_uv = vec2((a.z + p3d_Vertex.x + 0.5) / 6.0, p3d_Vertex.z + 0.5);
}
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
