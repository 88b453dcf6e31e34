"""The Panda3D visitor client: views of the venue, crowd and mascots, the HUD, selfie photos."""
