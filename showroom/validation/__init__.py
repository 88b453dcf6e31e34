"""Validation of the crowd model against published pedestrian data (``showroom validate crowd``)."""
