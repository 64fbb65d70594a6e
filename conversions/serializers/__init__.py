"""Request and response shapes of the conversion API (field names are a client contract).

options: fields and mixins the requests share; requests; responses; errors; reports.
"""
