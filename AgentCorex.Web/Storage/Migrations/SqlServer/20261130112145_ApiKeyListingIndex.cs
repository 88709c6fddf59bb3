using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ApiKeyListingIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "ix_api_keys_created",
                table: "api_keys",
                columns: new[] { "created_at", "key_id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_api_keys_created",
                table: "api_keys");
        }
    }
}
