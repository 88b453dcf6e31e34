"""Brand communities, the pure part: community files, challenge phases and residency schedules.

A community outlives events: members join it (by invite, request or freely, up to 500), earn
loyalty points for engagement, enter weekly creative challenges and come to weekend residency
shows. This package reads and checks the community file and answers questions of time; the
server keeps members, entries and votes.
"""

from showroom.community.load import CommunityError, community_from_data, load_community, parse_community
from showroom.community.model import Community

__all__ = ["Community", "CommunityError", "community_from_data", "load_community", "parse_community"]
