"""The admin app (sign-in, dashboards, transcripts, flow editor): the next issue on the roadmap."""
