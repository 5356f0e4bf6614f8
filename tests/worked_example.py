"""The worked example of spec/data.md section 5: one 1.0.0 template and its exact 3.0.0 form."""

import json

INPUT = {
    "id": 17,
    "name": "Summary",
    "content": "Sum up:\n  {text}",
    "folder_id": "writing",
    "is_favorite": True,
    "created_at": "2024-03-01T10:00:00.000Z",
    "custom_flag": 1,
}
OUTPUT = {
    "id": "17",
    "name": "Summary",
    "content": "Sum up:\n  {text}",
    "folderId": "writing",
    "folderIds": ["writing"],
    "tags": [],
    "favorite": True,
    "createdAt": "2024-03-01T10:00:00.000Z",
    "updatedAt": "2024-03-01T10:00:00.000Z",
    "customFlag": 1,
    "context": "",
    "contextEnabled": False,
    "metadata": {"schemaVersion": "3.0.0", "migratedFrom": "1.0.0", "sourceKey": "airprompts_templates"},
}
# The collection as the app stores it in airprompts_templates.
INPUT_TEXT = json.dumps([INPUT])
