"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the import pages."""

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.imports.jobs import create_job
from tests.urlmatrix import register_object, register_url

CSV = b"code,name\n0042,Matrix customer\n"


class RewindingUpload(SimpleUploadedFile):
    """The matrix posts the same data several times: each post reads the file from its start."""

    def read(self, *args):
        self.seek(0)
        return super().read(*args)


@register_object("import_job")
def _import_job(world):
    return create_job(world.org, "customers", "matrix.csv", CSV, actor=world.owner)


register_url("import_list", post=lambda world: {
    "kind": "customers", "file": RewindingUpload("m.csv", CSV, content_type="text/csv"), "encoding": "",
    "delimiter": ""})
register_url("import_detail", pk="import_job", post=lambda world: {
    "action": "check", "map_code": "code", "map_name": "name", "save_as": ""})
register_url("import_errors_csv", pk="import_job")
register_url("import_export", kind=lambda world: "invoices", fmt=lambda world: "csv")
